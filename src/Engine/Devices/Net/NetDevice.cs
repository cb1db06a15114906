using System.Runtime.InteropServices;
using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices.Net;

/// <summary>
/// The virtio net device (type 1) over a tap: queue 0 receives frames into guest buffers,
/// queue 1 transmits guest frames. Every frame is preceded by a 10-byte virtio_net_hdr.
/// </summary>
/// <remarks>Spec §5.2; lguest.c <c>setup_tun_net()</c>, <c>handle_tun_input()</c>, <c>handle_net_output()</c>.</remarks>
public sealed class NetDevice : VirtioDevice
{
    private readonly ITap _tap;

    private NetDevice(DeviceRecord record, ITap tap)
        : base(record) => _tap = tap;

    /// <summary>The receive queue (vq0).</summary>
    public Virtqueue RxQueue => Record.Queues[0];

    /// <summary>The transmit queue (vq1).</summary>
    public Virtqueue TxQueue => Record.Queues[1];

    /// <inheritdoc/>
    public override InputSource? Input => _tap.Input;

    /// <summary>
    /// Lays out the net record (rx and tx queues, VIRTIO_NET_F_MAC offered, the tap's MAC
    /// as config) and creates the device.
    /// </summary>
    public static NetDevice Create(DevicePage page, ITap tap)
    {
        DeviceRecord record = page.AddDevice(VirtioDeviceType.Net, "net");
        record.AddVirtqueue();
        record.AddVirtqueue();
        record.AddFeature(VirtioNetConfig.FeatureMac);
        Span<byte> config = stackalloc byte[VirtioNetConfig.Size];
        VirtioNetConfig.FromBytes(tap.HardwareAddress).Write(config);
        record.SetConfig(config);
        return new NetDevice(record, tap);
    }

    /// <inheritdoc/>
    public override GuestFaultException? HandleNotify(Virtqueue queue, IDeviceContext context)
    {
        if (queue == RxQueue)
        {
            // New receive buffers: listen on the tap again.
            context.EnableInput(this);
            return null;
        }

        VirtqueueRing ring = TxQueue.OpenRing();
        GuestFaultException? fault;
        while (ring.TryPop(out DescriptorChain chain, out fault))
        {
            if (chain.WritableCount != 0)
            {
                return new GuestFaultException(GuestFault.NetTxWritable, $"net transmit chain {chain.Head} has {chain.WritableCount} writable buffers");
            }

            // The header must be a real virtio_net_hdr; its content is ignored (no offload is offered).
            if (TypedBuffer.Validate(chain.Readable[0], VirtioNetHdr.Size, VirtioNetHdr.Alignment, "struct virtio_net_hdr") is { } badHeader)
            {
                return badHeader;
            }

            int written = _tap.Write(context.Memory, chain.Readable[1..]);
            if (written < 0)
            {
                // Fixed QUIRK: lguest.c put writev()'s -1 into the used length (0xffffffff).
                // A write the tap refuses (a runt frame: EINVAL) is the guest's doing and
                // must not end the Launcher, so it is dropped with a warning and length 0.
                context.Warn($"net: tap write failed ({Marshal.GetPInvokeErrorMessage(-written)}); frame dropped");
                written = 0;
            }

            ring.AddUsed(chain.Head, (uint)written);
            if (context.TriggerIrq(TxQueue) is { } rejected)
            {
                return rejected;
            }
        }

        return fault;
    }

    /// <inheritdoc/>
    /// <exception cref="LguestHostException">The tap read returned 0 or an error.</exception>
    public override GuestFaultException? HandleInput(IDeviceContext context, out bool keepListening)
    {
        keepListening = false;
        if (!RxQueue.TryPop(out DescriptorChain chain, out GuestFaultException? fault))
        {
            // The frame stays in the tap; say so only once the driver is up (before that,
            // no buffers is normal), and stop listening until the guest adds buffers.
            if (fault is null && (Record.Status & VirtioStatus.DriverOk) != 0)
            {
                context.Warn("net: no receive buffer available");
            }

            return fault;
        }

        if (chain.ReadableCount != 0)
        {
            return new GuestFaultException(GuestFault.NetRxReadable, $"net receive chain {chain.Head} has {chain.ReadableCount} readable buffers");
        }

        GuestBuffer header = chain.Writable[0];
        if (TypedBuffer.Validate(header, VirtioNetHdr.Size, VirtioNetHdr.Alignment, "struct virtio_net_hdr") is { } badHeader)
        {
            return badHeader;
        }

        // All ten bytes are zeroed: the original set only flags and gso_type and left the
        // other eight as whatever the guest had there.
        context.Memory.Clear(header.Address, VirtioNetHdr.Size);
        ushort head = chain.Head;
        int read = _tap.Read(context.Memory, chain.Writable[1..]);
        if (read <= 0)
        {
            // Fatal, as in lguest.c: the tap said it was readable and then gave nothing.
            // A host failure, not the guest's: the caller of the Launcher reports it.
            throw new LguestHostException(read == 0 ? "net: reading from the tap device returned 0 bytes" : "net: reading from the tap device failed", -read);
        }

        RxQueue.AddUsed(head, (uint)(VirtioNetHdr.Size + read));
        keepListening = true;
        return context.TriggerIrq(RxQueue);
    }
}
