using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The 2.6.25 virtio_net driver: MAC from config, receive ring filled with 10 + 1514-byte
/// buffers, transmit with reclaim before each add.
/// </summary>
/// <remarks>Spec §8.5 "Net".</remarks>
public sealed class NetDriver
{
    /// <summary>Receive buffer data size: Ethernet header + 1500.</summary>
    public const int RxDataSize = 1514;

    /// <summary>The byte the driver fills fresh receive headers with.</summary>
    private const byte HeaderPoison = 0xa5;

    private readonly GuestContext _guest;
    private readonly BusDevice _device;
    private readonly Queue<byte[]> _received = new();
    private GuestDriverQueue _rx = null!;
    private GuestDriverQueue _tx = null!;
    private int _rxOutstanding;
    private int _rxMax;

    /// <summary>Binds the driver to <paramref name="device"/>.</summary>
    public NetDriver(GuestContext guest, BusDevice device)
    {
        _guest = guest;
        _device = device;
    }

    /// <summary>The MAC address in use.</summary>
    public byte[] Mac { get; } = new byte[6];

    /// <summary>Frames received and not yet taken by <see cref="TryReceive"/>.</summary>
    public int Pending => _received.Count;

    /// <summary>Receive buffers the device holds (added and not yet used).</summary>
    public int RxOutstanding => _rxOutstanding;

    /// <summary>
    /// While set, used receive buffers are not replaced (<c>net.rx-hold</c>): the ring runs
    /// dry, and the Launcher must warn and stop listening until <see cref="RefillRx"/> kicks.
    /// </summary>
    public bool RxHeld { get; set; }

    /// <summary>Probe (spec §8.5): CSUM (not offered), MAC, rx and tx queues, fill rx.</summary>
    /// <returns>False when not even one receive buffer could be added (the probe fails).</returns>
    public bool Probe()
    {
        _device.Feature(VirtioNetConfig.FeatureCsum);
        if (_device.Feature(VirtioNetConfig.FeatureMac))
        {
            _device.ConfigGet(0, Mac);
        }
        else
        {
            // The real driver picks a random MAC; ours is fixed so transcripts stay stable.
            byte[] fixedMac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
            fixedMac.CopyTo(Mac, 0);
        }

        _rx = _device.FindVq(0, OnRx);
        _tx = _device.FindVq(1, OnTx);
        FillRx();
        _rxMax = _rxOutstanding;
        _guest.Transcript.Line($"guest: net mac {FormatMac(Mac)}, {_rxOutstanding} receive buffers");
        return _rxOutstanding > 0;
    }

    /// <summary>Transmits one Ethernet frame: header + frame, reclaiming finished buffers first.</summary>
    public void Send(ReadOnlySpan<byte> frame)
    {
        Reclaim();
        ulong header = _guest.Heap.Allocate(VirtioNetHdr.Size);
        _guest.Memory.Clear(header, VirtioNetHdr.Size);
        ulong data = _guest.Heap.Allocate((ulong)frame.Length);
        _guest.Memory.Write(data, frame);
        GuestBuffer[] sg = [new(header, VirtioNetHdr.Size), new(data, (uint)frame.Length)];
        _guest.Transcript.Line($"guest: net tx len={frame.Length} {Describe(frame)}");
        while (_tx.TryAddBuf(sg, [], (header, data)) < 0)
        {
            // Ring full: stop the queue, ask for the tx interrupt, and retry when room appears.
            if (!_tx.EnableCallbacks())
            {
                Reclaim();
                continue;
            }

            _guest.WaitUntil(_device, () => _tx.HasUsed);
            Reclaim();
        }

        _tx.Kick();
    }

    /// <summary>The device the driver is bound to.</summary>
    public BusDevice Device => _device;

    /// <summary>Waits for a received frame and takes it.</summary>
    public byte[] Receive()
    {
        _guest.WaitUntil(_device, () => _received.Count > 0);
        return _received.Dequeue();
    }

    /// <summary>Takes a received frame if one is waiting.</summary>
    public bool TryReceive(out byte[] frame)
    {
        _guest.DeliverInterrupts();
        return _received.TryDequeue(out frame!);
    }

    /// <summary>Waits until the device has used every receive buffer (<c>net.rx-drain</c>).</summary>
    public void WaitRxDry() => _guest.WaitUntil(_device, () => _rxOutstanding == 0);

    /// <summary>Fills the receive ring again and kicks it (<c>net.rx-refill</c>): the kick makes the Launcher listen again.</summary>
    public void RefillRx()
    {
        int before = _rxOutstanding;
        FillRx();
        _guest.Transcript.Line($"guest: net rx refill: {_rxOutstanding - before} buffers added, {_rxOutstanding} outstanding");
    }

    /// <summary>Formats a MAC as aa:bb:cc:dd:ee:ff.</summary>
    public static string FormatMac(ReadOnlySpan<byte> mac) => Convert.ToHexStringLower(mac.ToArray()) is var h
        ? string.Join(':', Enumerable.Range(0, 6).Select(i => h.Substring(i * 2, 2)))
        : string.Empty;

    /// <summary>A short description of a frame: addresses, ethertype and a digest.</summary>
    public static string Describe(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14)
        {
            return $"short data={T.Digest(frame)}";
        }

        int type = (frame[12] << 8) | frame[13];
        return $"dst={FormatMac(frame[..6])} src={FormatMac(frame[6..12])} type={T.Hex((ulong)type)} data={T.Digest(frame)}";
    }

    private void FillRx()
    {
        Span<byte> poison = stackalloc byte[VirtioNetHdr.Size];
        poison.Fill(HeaderPoison);
        while (true)
        {
            ulong header = _guest.Heap.Allocate(VirtioNetHdr.Size);
            ulong data = _guest.Heap.Allocate(RxDataSize);

            // Poison the header: the Launcher must zero all ten bytes of it (OnRx checks).
            _guest.Memory.Write(header, poison);
            GuestBuffer[] sg = [new(header, VirtioNetHdr.Size), new(data, RxDataSize)];
            if (_rx.TryAddBuf([], sg, (header, data)) < 0)
            {
                _guest.Heap.Free(header);
                _guest.Heap.Free(data);
                break;
            }

            _rxOutstanding++;
        }

        _rx.Kick();
    }

    private void OnRx()
    {
        _rx.DisableCallbacks();
        do
        {
            while (_rx.TryGetBuf(out object? token, out uint length, out ushort head))
            {
                (ulong header, ulong data) = ((ulong, ulong))token!;
                _rxOutstanding--;
                CheckRxBuffer(head, header, length);
                if (length < VirtioNetHdr.Size + 14)
                {
                    _guest.Transcript.Line($"guest: net rx head={head} len={length} dropped (short)");
                }
                else
                {
                    byte[] frame = new byte[Math.Min(length - VirtioNetHdr.Size, RxDataSize)];
                    _guest.Memory.Read(data, frame);
                    _guest.Transcript.Line($"guest: net rx head={head} len={length} {Describe(frame)}");
                    _received.Enqueue(frame);
                }

                _guest.Heap.Free(header);
                _guest.Heap.Free(data);
            }

            if (_rxOutstanding < _rxMax / 2 && !RxHeld)
            {
                FillRx();
            }
        }
        while (!_rx.EnableCallbacks());
    }

    /// <summary>
    /// What the Launcher owes every used receive buffer: a used length that fits the
    /// buffers it was given (10 + 1514) and a virtio_net_hdr zeroed in full. A guest kernel
    /// would not notice either; this harness must.
    /// </summary>
    private void CheckRxBuffer(ushort head, ulong header, uint length)
    {
        if (length > VirtioNetHdr.Size + RxDataSize)
        {
            _guest.Transcript.Line($"guest: net rx head={head} len={length} is longer than the buffers given");
            _guest.Panic($"net rx head {head}: used length {length} exceeds the {VirtioNetHdr.Size + RxDataSize}-byte buffers");
        }

        Span<byte> written = stackalloc byte[VirtioNetHdr.Size];
        _guest.Memory.Read(header, written);
        if (written.ContainsAnyExcept((byte)0))
        {
            _guest.Transcript.Line($"guest: net rx head={head} header not zeroed: {Convert.ToHexStringLower(written)}");
            _guest.Panic($"net rx head {head}: virtio_net_hdr not zeroed");
        }
    }

    private void OnTx()
    {
        // The tx interrupt only wakes a stopped queue; turn it off again.
        _tx.DisableCallbacks();
        Reclaim();
    }

    private void Reclaim()
    {
        while (_tx.TryGetBuf(out object? token, out uint length, out ushort head))
        {
            (ulong header, ulong data) = ((ulong, ulong))token!;
            _guest.Transcript.Line($"guest: net tx done head={head} len={length}");
            _guest.Heap.Free(header);
            _guest.Heap.Free(data);
        }
    }
}
