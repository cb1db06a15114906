using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>A block request as the guest driver builds it, and what came back.</summary>
public sealed class BlockRequest
{
    /// <summary>Request type bits (IN 0, OUT 1, SCSI_CMD 2, BARRIER 0x80000000).</summary>
    public uint Type { get; init; }

    /// <summary>Start sector.</summary>
    public ulong Sector { get; init; }

    /// <summary>For a write, the data; for a read, how many bytes to read (the content is ignored).</summary>
    public byte[] Data { get; init; } = [];

    /// <summary>Number of data segments (1..seg_max), of equal length give or take a byte.</summary>
    public int Segments { get; init; } = 1;

    /// <summary>
    /// Exact data segment lengths (any, zero included), overriding <see cref="Segments"/>; their
    /// sum must be the length of <see cref="Data"/>.
    /// </summary>
    public int[]? SegmentLengths { get; init; }

    /// <summary>Called on completion with the status byte, the used length and, for reads, the bytes read.</summary>
    public Action<BlockRequest>? Completed { get; init; }

    /// <summary>Label for the transcript ("read", "write", "scsi").</summary>
    public string Label => (Type & VirtioBlkOutHdr.TypeScsiCmd) != 0 ? "scsi" : (Type & VirtioBlkOutHdr.TypeOut) != 0 ? "write" : "read";

    /// <summary>The status byte the device wrote.</summary>
    public byte Status { get; internal set; }

    /// <summary>The used length.</summary>
    public uint UsedLength { get; internal set; }

    /// <summary>For requests with writable data (reads, and SCSI without OUT): the data buffers' contents after completion.</summary>
    public byte[] ReadBack { get; internal set; } = [];

    internal ulong HeaderAddress { get; set; }

    internal ulong StatusAddress { get; set; }

    internal GuestBuffer[] DataBuffers { get; set; } = [];

    internal int Sequence { get; set; }
}

/// <summary>
/// The 2.6.25 virtio_blk driver: barrier and seg_max negotiated at probe, requests of a
/// header, up to seg_max data segments and a status byte, all queued then one kick.
/// </summary>
/// <remarks>Spec §8.5 "Block".</remarks>
public sealed class BlockDriver
{
    private readonly GuestContext _guest;
    private readonly BusDevice _device;
    private readonly SortedDictionary<int, BlockRequest> _inFlight = new();
    private readonly List<(BlockRequest Request, ushort Head, uint Length)> _returned = new();
    private GuestDriverQueue _queue = null!;
    private int _sequence;

    /// <summary>Binds the driver to <paramref name="device"/>.</summary>
    public BlockDriver(GuestContext guest, BusDevice device)
    {
        _guest = guest;
        _device = device;
    }

    /// <summary>Capacity in sectors read at probe.</summary>
    public ulong Capacity { get; private set; }

    /// <summary>seg_max read at probe (1 when SEG_MAX is not offered).</summary>
    public uint SegMax { get; private set; } = 1;

    /// <summary>Whether barriers were negotiated.</summary>
    public bool Barrier { get; private set; }

    /// <summary>The request queue (after <see cref="Probe"/>): for tests that set NO_INTERRUPT or watch the used index.</summary>
    public GuestDriverQueue Queue => _queue;

    /// <summary>Requests submitted and not yet completed.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Probe (spec §8.5): queue, BARRIER, capacity, SIZE_MAX (not offered), SEG_MAX, then the partition-table read.</summary>
    public void Probe()
    {
        _queue = _device.FindVq(0, OnInterrupt);
        Barrier = _device.Feature(VirtioBlkConfig.FeatureBarrier);
        Span<byte> cap = stackalloc byte[8];
        _device.ConfigGet(0, cap);
        Capacity = BitConverter.ToUInt64(cap);
        _device.Feature(VirtioBlkConfig.FeatureSizeMax);
        if (_device.Feature(VirtioBlkConfig.FeatureSegMax))
        {
            Span<byte> seg = stackalloc byte[4];
            _device.ConfigGet(VirtioBlkConfig.SegMaxOffset, seg);
            SegMax = BitConverter.ToUInt32(seg);
        }

        _guest.Transcript.Line($"guest: block capacity {Capacity} sectors, seg_max {SegMax}, barrier {(Barrier ? "on" : "off")}");

        // add_disk() reads the partition table straight away, while status is still DRIVER.
        if (Capacity > 0)
        {
            int bytes = (int)Math.Min(8UL, Capacity) * 512;
            Submit(new BlockRequest { Type = VirtioBlkOutHdr.TypeIn, Sector = 0, Data = new byte[bytes] });
            KickAndWait();
        }
    }

    /// <summary>Queues <paramref name="request"/> on the ring without kicking (the request queue's job).</summary>
    public void Submit(BlockRequest request)
    {
        int segments = Math.Max(1, request.Segments);
        int[]? lengths = request.SegmentLengths;
        if (lengths is not null && lengths.Sum() != request.Data.Length)
        {
            throw new ArgumentException("segment lengths must add up to the data length");
        }

        ulong header = _guest.Heap.Allocate(VirtioBlkOutHdr.Size);
        Span<byte> raw = stackalloc byte[VirtioBlkOutHdr.Size];
        new VirtioBlkOutHdr(request.Type, 0, request.Sector).Write(raw);
        _guest.Memory.Write(header, raw);
        ulong status = _guest.Heap.Allocate(1);
        _guest.Memory.WriteU8(status, 0xff);
        var data = new GuestBuffer[lengths?.Length ?? (request.Data.Length == 0 ? 0 : segments)];
        int offset = 0;
        for (int i = 0; i < data.Length; i++)
        {
            int len = lengths is not null ? lengths[i] : (request.Data.Length / segments) + (i < request.Data.Length % segments ? 1 : 0);
            ulong addr = _guest.Heap.Allocate((ulong)len);
            if ((request.Type & VirtioBlkOutHdr.TypeOut) != 0)
            {
                _guest.Memory.Write(addr, request.Data.AsSpan(offset, len));
            }
            else
            {
                _guest.Memory.Clear(addr, (ulong)len);
            }

            data[i] = new GuestBuffer(addr, (uint)len);
            offset += len;
        }

        request.HeaderAddress = header;
        request.StatusAddress = status;
        request.DataBuffers = data;
        request.Sequence = _sequence++;

        bool write = (request.Type & VirtioBlkOutHdr.TypeOut) != 0;
        var readable = new List<GuestBuffer> { new(header, VirtioBlkOutHdr.Size) };
        var writable = new List<GuestBuffer>();
        (write ? readable : writable).AddRange(data);
        writable.Add(new GuestBuffer(status, 1));

        // A full ring: kick what is queued, wait until all of it is back, then try again.
        // (virtio_blk restarts its queue as soon as any request completes; waiting for all of
        // them keeps the transcript independent of how the worker's completions are batched.)
        while (_queue.TryAddBuf(readable.ToArray(), writable.ToArray(), request) < 0)
        {
            _queue.Kick();
            _guest.WaitUntil(_device, () => _inFlight.Count == 0);
        }

        _inFlight.Add(request.Sequence, request);
        _guest.Transcript.Line($"guest: block {request.Label} #{request.Sequence} sector={request.Sector} bytes={request.Data.Length} segments={data.Length}{((request.Type & VirtioBlkOutHdr.TypeBarrier) != 0 ? " barrier" : string.Empty)}");
    }

    /// <summary>Publishes everything queued and kicks, without waiting for completions.</summary>
    public void Kick() => _queue.Kick();

    /// <summary>One kick for everything queued, then wait until every request has completed.</summary>
    public void KickAndWait()
    {
        _queue.Kick();
        _guest.WaitUntil(_device, () => _inFlight.Count == 0);
    }

    private void OnInterrupt()
    {
        while (_queue.TryGetBuf(out object? token, out uint length, out ushort head))
        {
            _returned.Add(((BlockRequest)token!, head, length));
        }

        // The device's worker thread returns requests one by one, and how many of them one
        // interrupt finds depends on thread timing. So nothing is reported until every request
        // in flight is back, and then all of them, in submission order: the transcript reads
        // the same however the completions were batched (and any message the worker printed
        // for this batch comes before all of it).
        if (_returned.Count < _inFlight.Count)
        {
            return;
        }

        _returned.Sort((a, b) => a.Request.Sequence.CompareTo(b.Request.Sequence));
        foreach ((BlockRequest r, ushort head, uint length) in _returned)
        {
            Complete(r, head, length);
        }

        _returned.Clear();
    }

    private void Complete(BlockRequest r, ushort head, uint length)
    {
        r.Status = _guest.Memory.ReadU8(r.StatusAddress);
        r.UsedLength = length;
        if ((r.Type & VirtioBlkOutHdr.TypeOut) == 0)
        {
            byte[] back = new byte[r.Data.Length];
            int offset = 0;
            foreach (GuestBuffer b in r.DataBuffers)
            {
                _guest.Memory.Read(b.Address, back.AsSpan(offset, (int)b.Length));
                offset += (int)b.Length;
            }

            r.ReadBack = back;
        }

        string digest = r.ReadBack.Length > 0 ? $" data={T.Digest(r.ReadBack)}" : string.Empty;
        _guest.Transcript.Line($"guest: block {r.Label} #{r.Sequence} done head={head} len={length} status={StatusName(r.Status)}{digest}");
        _guest.Heap.Free(r.HeaderAddress);
        _guest.Heap.Free(r.StatusAddress);
        foreach (GuestBuffer b in r.DataBuffers)
        {
            _guest.Heap.Free(b.Address);
        }

        _inFlight.Remove(r.Sequence);
        r.Completed?.Invoke(r);
    }

    /// <summary>Names a block status byte.</summary>
    public static string StatusName(byte status) => status switch
    {
        VirtioBlkOutHdr.StatusOk => "OK",
        VirtioBlkOutHdr.StatusIoErr => "IOERR",
        VirtioBlkOutHdr.StatusUnsupp => "UNSUPP",
        _ => T.Hex(status),
    };
}
