using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices.Block;

/// <summary>
/// The virtio block device (type 2) over a file: one queue of requests, each a 16-byte
/// header, data segments and a 1-byte status.
/// </summary>
/// <remarks>Spec §5.3; lguest.c <c>setup_block_file()</c> and <c>service_io()</c>.</remarks>
public sealed class BlockDevice : VirtioDevice
{
    /// <summary>Sector size in bytes.</summary>
    public const int SectorSize = 512;

    /// <summary>Most data segments per request: VIRTQUEUE_NUM − 2.</summary>
    public const uint SegMax = LguestLayout.VirtqueueNum - 2;

    private readonly IBlockStore _store;

    private BlockDevice(DeviceRecord record, IBlockStore store)
        : base(record) => _store = store;

    /// <summary>The request queue.</summary>
    public Virtqueue Queue => Record.Queues[0];

    /// <summary>The store's length when the device was set up.</summary>
    public long FileLength => _store.Length;

    /// <summary>
    /// Lays out the block record (one queue, BARRIER and SEG_MAX offered, capacity in
    /// 512-byte sectors with a partial last sector dropped) and creates the device.
    /// </summary>
    public static BlockDevice Create(DevicePage page, IBlockStore store)
    {
        DeviceRecord record = page.AddDevice(VirtioDeviceType.Block, "block");
        record.AddVirtqueue();
        record.AddFeature(VirtioBlkConfig.FeatureBarrier);
        record.AddFeature(VirtioBlkConfig.FeatureSegMax);
        Span<byte> config = stackalloc byte[VirtioBlkConfig.Size];

        // size_max is zero: the original never set it (stack garbage), and it is not offered.
        new VirtioBlkConfig((ulong)store.Length / SectorSize, 0, SegMax).Write(config);
        record.SetConfig(config);
        return new BlockDevice(record, store);
    }

    /// <inheritdoc/>
    public override void HandleNotify(Virtqueue queue, IDeviceContext context)
    {
        while (Queue.TryPop(out DescriptorChain chain))
        {
            uint used = Service(chain, context);
            Queue.AddUsed(chain.Head, used);
            context.TriggerIrq(Queue);
        }
    }

    /// <summary>Serves one request; returns the used length.</summary>
    private uint Service(DescriptorChain chain, IDeviceContext context)
    {
        if (chain.ReadableCount == 0 || chain.WritableCount == 0)
        {
            ThrowHelper.ThrowGuestFault(GuestFault.BlockBadRequestShape, $"bad block command: head {chain.Head} out {chain.ReadableCount} in {chain.WritableCount}");
        }

        GuestBuffer headerBuffer = chain.Readable[0];
        GuestBuffer statusBuffer = chain.Writable[^1];
        TypedBuffer.Check(headerBuffer, VirtioBlkOutHdr.Size, VirtioBlkOutHdr.Alignment, "struct virtio_blk_outhdr");
        TypedBuffer.Check(statusBuffer, 1, 1, "u8 status");
        var header = VirtioBlkOutHdr.Read(context.Memory.GetSpan(headerBuffer.Address, VirtioBlkOutHdr.Size));

        // The barrier comes first, before anything else the request does: every write the
        // guest was told was done must be on disk before this request can be.
        if ((header.Type & VirtioBlkOutHdr.TypeBarrier) != 0)
        {
            _store.FlushData();
        }

        byte status;
        uint used = 1;
        if ((header.Type & VirtioBlkOutHdr.TypeScsiCmd) != 0)
        {
            context.Warn("block: SCSI unsupported");
            status = VirtioBlkOutHdr.StatusUnsupp;
        }
        else
        {
            long offset = ByteOffset(header.Sector);
            if ((header.Type & VirtioBlkOutHdr.TypeOut) != 0)
            {
                ReadOnlySpan<GuestBuffer> data = chain.Readable[1..];
                ulong length = TotalLength(data);

                // Checked before a byte is written, so the file can never grow. The original
                // wrote first and truncated back, which left the in-file part written.
                if (length > 0 && (ulong)offset + length > (ulong)_store.Length)
                {
                    ThrowHelper.ThrowGuestFault(GuestFault.BlockWritePastEnd, $"write to sector {header.Sector} (offset {offset}, length {length}) past end of file ({_store.Length} bytes)");
                }

                long written = _store.WriteAt(context.Memory, data, offset);
                status = written >= 0 ? VirtioBlkOutHdr.StatusOk : VirtioBlkOutHdr.StatusIoErr;
            }
            else
            {
                long read = _store.ReadAt(context.Memory, chain.Writable[..^1], offset);
                if (read >= 0)
                {
                    status = VirtioBlkOutHdr.StatusOk;
                    used = 1 + (uint)read;
                }
                else
                {
                    status = VirtioBlkOutHdr.StatusIoErr;
                }
            }
        }

        context.Memory.WriteU8(statusBuffer.Address, status);
        return used;
    }

    private static long ByteOffset(ulong sector)
    {
        if (sector > (ulong)long.MaxValue / SectorSize)
        {
            ThrowHelper.ThrowGuestFault(GuestFault.BlockBadSector, $"bad seek to sector {sector}");
        }

        return (long)sector * SectorSize;
    }

    private static ulong TotalLength(ReadOnlySpan<GuestBuffer> buffers)
    {
        ulong total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        return total;
    }
}
