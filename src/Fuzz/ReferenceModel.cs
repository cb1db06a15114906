using System.Buffers.Binary;
using LguestSim.Engine;

namespace LguestSim.Fuzz;

/// <summary>How the model says a notify, a break or the end of a program turns out.</summary>
internal enum ModelEnd : byte
{
    /// <summary>Nothing ended the run.</summary>
    None,

    /// <summary>A guest fault (<see cref="ReferenceModel.Fault"/>).</summary>
    Fault,

    /// <summary>A host error: the tap gave nothing (a receive chain with no room after the header).</summary>
    HostError,
}

/// <summary>One used entry the model expects a device to write.</summary>
/// <param name="Element">Guest address of the <c>vring_used_elem</c>.</param>
/// <param name="Head">The chain's head.</param>
/// <param name="Length">The used length the spec fixes.</param>
/// <param name="Writable">The chain's writable bytes.</param>
/// <param name="Device">Index of the device.</param>
/// <param name="Queue">Index of the queue.</param>
internal readonly record struct ModelCompletion(ulong Element, ushort Head, uint Length, ulong Writable, int Device, int Queue);

/// <summary>
/// An independent model of what the Launcher must do, written from the spec alone (§3 device
/// page, §4.5 chain fetch in lguest's order, §5 devices, §6.3–§6.4 dispatch) and sharing no
/// code with the engine: it parses the device page itself, walks chains itself, and applies
/// every byte the Launcher is allowed to write to its own copy of guest memory (the "shadow").
/// After an execution the real memory must equal the shadow byte for byte.
/// </summary>
/// <remarks>
/// Project decisions the model follows (README "Differences from lguest.c"): bounds checks
/// are 64-bit and a buffer may end exactly at guest_limit; a block write past the end is
/// refused before a byte is written; the net receive header is zeroed whole; console input
/// that reads nothing gives the chain back with length 0 and turns input off for good; the
/// block worker serves up to the avail.idx read at the latest kick, and a reset drops what it
/// had not started.
/// </remarks>
internal sealed class ReferenceModel
{
    private const int DescSize = 16;
    private const ushort FlagNext = 1;
    private const ushort FlagWrite = 2;
    private const int Page = 4096;

    /// <summary>The grain of the dirty map: a run restores only the lines it (or the model) wrote.</summary>
    public const int DirtyLine = 256;

    private readonly byte[] _mem;
    private readonly ulong _limit;
    private readonly MDevice[] _devices;
    private readonly List<(ulong Address, uint Length)> _buffers = new(128);
    private readonly bool[] _dirty;

    /// <summary>Reads the device page at <paramref name="pageAddress"/> of <paramref name="shadow"/>.</summary>
    /// <param name="shadow">The model's guest memory.</param>
    /// <param name="limit">guest_limit.</param>
    /// <param name="pageAddress">Where the device page is.</param>
    /// <param name="disks">The model's disks, one per block device in page order.</param>
    /// <param name="dirty">One flag per <see cref="DirtyLine"/> bytes of <paramref name="shadow"/>, set for every line the model writes.</param>
    public ReferenceModel(byte[] shadow, ulong limit, ulong pageAddress, IReadOnlyList<byte[]?> disks, bool[] dirty)
    {
        _mem = shadow;
        _dirty = dirty;
        _limit = limit;
        var devices = new List<MDevice>();
        int off = 0;
        int diskIndex = 0;
        while (off + 5 <= Page)
        {
            ulong rec = pageAddress + (ulong)off;
            byte type = _mem[rec];
            if (type == 0)
            {
                break;
            }

            int numVq = _mem[rec + 1];
            int featureLen = _mem[rec + 2];
            int configLen = _mem[rec + 3];
            var d = new MDevice { Type = type, Descriptor = rec, Status = rec + 4 };
            d.Queues = new MQueue[numVq];
            for (int q = 0; q < numVq; q++)
            {
                ulong vqc = rec + 5 + (ulong)(8 * q);
                ushort num = BinaryPrimitives.ReadUInt16LittleEndian(_mem.AsSpan((int)vqc, 2));
                uint pfn = BinaryPrimitives.ReadUInt32LittleEndian(_mem.AsSpan((int)vqc + 4, 4));
                ulong ring = (ulong)pfn * Page;
                ulong avail = ring + (16UL * num);
                ulong used = (avail + 4 + (2UL * num) + Page - 1) & ~(ulong)(Page - 1);
                d.Queues[q] = new MQueue { Num = num, Pfn = pfn, Ring = ring, Avail = avail, Used = used, Size = (int)(used + 4 + (8UL * num) - ring) };
            }

            d.Ack = rec + 5 + (ulong)(8 * numVq) + (ulong)featureLen;
            d.FeatureLength = featureLen;
            if (type == 2)
            {
                d.Disk = disks[diskIndex++];
                d.DiskLength = d.Disk!.Length;
            }

            devices.Add(d);
            off += 5 + (8 * numVq) + (2 * featureLen) + configLen;
        }

        _devices = [.. devices];
    }

    /// <summary>
    /// Isolate mode (spec of issue 12 item 1): a fault isolates the device that raised it —
    /// its notifies are ignored, its input is not listened to, its worker parks and drops its
    /// fault and owed interrupts — until the guest resets it; a notify no device owns is
    /// ignored. Host errors still end the run.
    /// </summary>
    public bool IsolateMode { get; set; }

    /// <summary>Isolate mode: the isolations of this execution, in order (device, fault).</summary>
    public List<(int Device, GuestFault Fault)> Isolations { get; } = new();

    /// <summary>The fault the model expects, once <see cref="ModelEnd.Fault"/> was returned.</summary>
    public GuestFault Fault { get; private set; }

    /// <summary>The device the fault belongs to (-1: none, a bad notify).</summary>
    public int FaultDevice { get; private set; }

    /// <summary>Completions of the current execution, in order.</summary>
    public List<ModelCompletion> Completions { get; } = new();

    /// <summary>Early console output expected: total bytes and a hash of them.</summary>
    public (long Bytes, ulong Hash) EarlyOutput { get; private set; }

    /// <summary>Whether the model wrote to any of its disks in this execution.</summary>
    public bool DiskWritten { get; private set; }


    /// <summary>Resets per-execution state: queues at 0, listening, no input, disks as given.</summary>
    public void Begin(IReadOnlyList<byte[]?> initialDisks)
    {
        int disk = 0;
        foreach (MDevice d in _devices)
        {
            foreach (MQueue q in d.Queues)
            {
                q.LastAvail = 0;
            }

            d.Listening = true;
            d.InputDead = false;
            d.Keys = 0;
            d.KeysTyped = 0;
            d.Frames.Clear();
            d.Kicked = false;
            d.StopAt = 0;
            d.Owed = 0;
            d.WorkerFault = null;
            d.Isolated = false;
            if (d.Disk is not null)
            {
                if (DiskWritten)
                {
                    initialDisks[disk]!.CopyTo(d.Disk, 0);
                }

                disk++;
            }
        }

        DiskWritten = false;
        Isolations.Clear();
        Completions.Clear();
        EarlyOutput = (0, 0);
    }

    /// <summary>The host types <paramref name="count"/> keys / a frame of that length arrives.</summary>
    public void HostInput(int device, uint count)
    {
        MDevice d = _devices[device];
        if (d.Type == 3)
        {
            d.Keys += count;
        }
        else if (d.Type == 1)
        {
            d.Frames.Enqueue(count);
        }
    }

    /// <summary>Whether any input the Launcher would service is waiting (the Waker would break).</summary>
    public bool InputWaiting()
    {
        foreach (MDevice d in _devices)
        {
            if ((d.Type == 3 && d.Keys > 0 && !d.InputDead) || (d.Type == 1 && d.Frames.Count > 0))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Spec §6.4: a notify of <paramref name="address"/>.</summary>
    public ModelEnd Notify(uint address) => Handled(Dispatch(address));

    private ModelEnd Dispatch(uint address)
    {
        for (int i = 0; i < _devices.Length; i++)
        {
            MDevice d = _devices[i];
            if (d.Descriptor == address)
            {
                Reset(d);
                return ModelEnd.None;
            }

            for (int q = 0; q < d.Queues.Length; q++)
            {
                if (d.Queues[q].Pfn != address / Page)
                {
                    continue;
                }

                if (d.Isolated)
                {
                    return ModelEnd.None; // isolated: ignored until a reset
                }

                if (_mem[d.Status] == 0)
                {
                    return ModelEnd.None; // early output of a device: a warning, ignored
                }

                return Output(i, q);
            }
        }

        if (address >= _limit)
        {
            return IsolateMode ? ModelEnd.None : Fail(GuestFault.BadNotify, -1);
        }

        long n = 0;
        ulong hash = 14695981039346656037UL;
        for (ulong a = address; a < _limit && _mem[a] != 0; a++)
        {
            hash = (hash ^ _mem[a]) * 1099511628211UL;
            n++;
        }

        EarlyOutput = (EarlyOutput.Bytes + n, EarlyOutput.Hash ^ hash);
        return ModelEnd.None;
    }

    /// <summary>A break of the run: settle the block workers, then service input (spec §6.3).</summary>
    public ModelEnd Break()
    {
        ModelEnd end = Settle();
        if (end != ModelEnd.None)
        {
            return end;
        }

        bool any = true;
        while (any)
        {
            any = false;
            for (int i = 0; i < _devices.Length; i++)
            {
                MDevice d = _devices[i];
                bool ready = d.Type switch
                {
                    3 => !d.InputDead && d.Keys > 0,
                    1 => d.Frames.Count > 0,
                    _ => d.Owed > 0 || d.WorkerFault is not null,
                };
                if (!d.Listening || !ready)
                {
                    continue;
                }

                any = true;
                ModelEnd result = Input(i, out bool keepListening);
                if (result == ModelEnd.Fault && IsolateMode)
                {
                    Isolate(FaultDevice);
                    continue;
                }

                if (result != ModelEnd.None)
                {
                    return result;
                }

                if (!keepListening)
                {
                    d.Listening = false;
                }
            }
        }

        return ModelEnd.None;
    }

    /// <summary>The end of the run: every block worker finishes what was kicked (Launcher.Finish).</summary>
    public ModelEnd Settle()
    {
        for (int i = 0; i < _devices.Length; i++)
        {
            MDevice d = _devices[i];
            if (d.Type != 2 || d.Isolated)
            {
                continue;
            }

            if (d.Kicked && d.WorkerFault is null)
            {
                d.Kicked = false;
                ServeKicked(i);
            }

            if (d.WorkerFault is { } f)
            {
                if (IsolateMode)
                {
                    Fault = f;
                    FaultDevice = i;
                    Isolate(i);
                    continue;
                }

                return Fail(f, i);
            }
        }

        return ModelEnd.None;
    }

    private ModelEnd Fail(GuestFault fault, int device)
    {
        Fault = fault;
        FaultDevice = device;
        return ModelEnd.Fault;
    }

    private ModelEnd Handled(ModelEnd end)
    {
        if (end == ModelEnd.Fault && IsolateMode && FaultDevice >= 0)
        {
            Isolate(FaultDevice);
            return ModelEnd.None;
        }

        return end;
    }

    private void Isolate(int device)
    {
        MDevice d = _devices[device];
        d.Isolated = true;
        d.Listening = false;
        d.Owed = 0;
        d.WorkerFault = null;
        d.Kicked = false;
        Isolations.Add((device, Fault));
    }

    private void Reset(MDevice d)
    {
        int index = Array.IndexOf(_devices, d);
        if (IsolateMode && !d.Isolated && d.WorkerFault is { } pending)
        {
            // A fault the worker hit that the run loop has not seen: reported now, as an isolation.
            Fault = pending;
            FaultDevice = index;
            Isolate(index);
        }

        if (d.Isolated)
        {
            // Back, clean: served again, and listened to as at start-up.
            d.Isolated = false;
            d.Listening = !(d.Type == 3 && d.InputDead);
        }

        _mem[d.Status] = 0;
        _mem.AsSpan((int)d.Ack, d.FeatureLength).Clear();
        Mark(d.Status, 1);
        Mark(d.Ack, (ulong)d.FeatureLength);
        foreach (MQueue q in d.Queues)
        {
            _mem.AsSpan((int)q.Ring, q.Size).Clear();
            Mark(q.Ring, (ulong)q.Size);
            q.LastAvail = 0;
        }

        // The block worker: what was kicked and not started is dropped, as are interrupts owed.
        d.Kicked = false;
        d.StopAt = 0;
        d.Owed = 0;
        for (int i = 0; i < Completions.Count; i++)
        {
            if (Completions[i].Device == Array.IndexOf(_devices, d))
            {
                Completions[i] = Completions[i] with { Element = ulong.MaxValue };
            }
        }
    }

    private ModelEnd Output(int device, int queue)
    {
        MDevice d = _devices[device];
        MQueue q = d.Queues[queue];
        switch (d.Type)
        {
            case 3 when queue == 0:
            case 1 when queue == 0:
                // Console input / net receive: "I gave you buffers", listen again.
                if (!d.InputDead)
                {
                    d.Listening = true;
                }

                return ModelEnd.None;
            case 2:
                // The block kick only tells the worker how far to go.
                d.StopAt = Read16(q.Avail + 2);
                d.Kicked = true;
                return ModelEnd.None;
        }

        while (true)
        {
            ModelEnd pop = Pop(q, device, out bool got, out ushort head, out int readable);
            if (pop != ModelEnd.None)
            {
                return pop;
            }

            if (!got)
            {
                return ModelEnd.None;
            }

            int writable = _buffers.Count - readable;
            if (writable != 0)
            {
                return Fail(d.Type == 3 ? GuestFault.ConsoleOutputWritable : GuestFault.NetTxWritable, device);
            }

            ulong total = 0;
            int first = 0;
            if (d.Type == 1)
            {
                if (!TypedOk(_buffers[0], 10, 2))
                {
                    return Fail(GuestFault.BadTypedBuffer, device);
                }

                first = 1;
            }

            for (int b = first; b < _buffers.Count; b++)
            {
                total += _buffers[b].Length;
            }

            Used(q, head, (uint)total, 0, device);
        }
    }

    private ModelEnd Input(int device, out bool keepListening)
    {
        MDevice d = _devices[device];
        keepListening = true;
        if (d.Type == 2)
        {
            d.Owed = 0;
            return d.WorkerFault is { } f ? Fail(f, device) : ModelEnd.None;
        }

        MQueue q = d.Queues[0];
        ModelEnd pop = Pop(q, device, out bool got, out ushort head, out int readable);
        if (pop != ModelEnd.None)
        {
            return pop;
        }

        if (!got)
        {
            keepListening = false;
            return ModelEnd.None;
        }

        if (readable != 0)
        {
            return Fail(d.Type == 3 ? GuestFault.ConsoleInputReadable : GuestFault.NetRxReadable, device);
        }

        if (d.Type == 3)
        {
            long read = 0;
            ulong writableBytes = 0;
            foreach ((ulong a, uint l) in _buffers)
            {
                writableBytes += l;
                long n = Math.Min(d.Keys - read, l);
                Mark(a, (ulong)n);
                for (long i = 0; i < n; i++)
                {
                    _mem[a + (ulong)i] = HostData.Key(d.KeysTyped + read + i);
                }

                read += n;
            }

            d.Keys -= read;
            d.KeysTyped += read;
            Used(q, head, (uint)read, writableBytes, device);
            if (read == 0)
            {
                d.InputDead = true;
                keepListening = false;
            }

            return ModelEnd.None;
        }

        // Net receive: header first, zeroed whole; then the frame, cut to the buffers.
        if (!TypedOk(_buffers[0], 10, 2))
        {
            return Fail(GuestFault.BadTypedBuffer, device);
        }

        ulong wbytes = 0;
        foreach ((_, uint l) in _buffers)
        {
            wbytes += l;
        }

        _mem.AsSpan((int)_buffers[0].Address, 10).Clear();
        Mark(_buffers[0].Address, 10);
        uint frame = d.Frames.Dequeue();
        uint got2 = 0;
        for (int b = 1; b < _buffers.Count && got2 < frame; b++)
        {
            (ulong a, uint l) = _buffers[b];
            uint n = Math.Min(frame - got2, l);
            Mark(a, n);
            for (uint i = 0; i < n; i++)
            {
                _mem[a + i] = HostData.Frame(frame, (int)(got2 + i));
            }

            got2 += n;
        }

        if (got2 == 0)
        {
            return ModelEnd.HostError;
        }

        Used(q, head, 10 + got2, wbytes, device);
        return ModelEnd.None;
    }

    /// <summary>The block worker's pass: serve chains until last_avail_idx reaches the kick's avail.idx.</summary>
    private void ServeKicked(int device)
    {
        MDevice d = _devices[device];
        MQueue q = d.Queues[0];
        while (q.LastAvail != d.StopAt)
        {
            ModelEnd pop = Pop(q, device, out bool got, out ushort head, out int readable);
            if (pop == ModelEnd.Fault)
            {
                d.WorkerFault = Fault;
                return;
            }

            if (!got)
            {
                return;
            }

            GuestFault? fault = Serve(d, readable, out uint used, out ulong writableBytes);
            if (fault is { } f)
            {
                d.WorkerFault = f;
                return;
            }

            Used(q, head, used, writableBytes, device);
            d.Owed++;
        }
    }

    /// <summary>Spec §5.3 steps 1–7 for the chain in <see cref="_buffers"/>.</summary>
    private GuestFault? Serve(MDevice d, int readable, out uint used, out ulong writableBytes)
    {
        used = 0;
        writableBytes = 0;
        int writable = _buffers.Count - readable;
        if (readable == 0 || writable == 0)
        {
            return GuestFault.BlockBadRequestShape;
        }

        (ulong hdr, _) = _buffers[0];
        (ulong status, _) = _buffers[^1];
        if (!TypedOk(_buffers[0], 16, 4) || !TypedOk(_buffers[^1], 1, 1))
        {
            return GuestFault.BadTypedBuffer;
        }

        for (int b = readable; b < _buffers.Count; b++)
        {
            writableBytes += _buffers[b].Length;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(_mem.AsSpan((int)hdr, 4));
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(_mem.AsSpan((int)hdr + 8, 8));
        byte result;
        used = 1;
        if ((type & 2) != 0)
        {
            result = 2; // SCSI: unsupported (a barrier first flushes, which cannot fail here)
        }
        else if ((type & 1) != 0)
        {
            if (sector > (ulong)long.MaxValue / 512)
            {
                return GuestFault.BlockBadSector;
            }

            ulong offset = sector * 512;
            ulong length = 0;
            for (int b = 1; b < readable; b++)
            {
                length += _buffers[b].Length;
            }

            if (length > 0 && offset + length > (ulong)d.DiskLength)
            {
                return GuestFault.BlockWritePastEnd;
            }

            ulong pos = offset;
            DiskWritten |= length > 0;
            for (int b = 1; b < readable; b++)
            {
                (ulong a, uint l) = _buffers[b];
                if (l != 0)
                {
                    _mem.AsSpan((int)a, (int)l).CopyTo(d.Disk.AsSpan((int)pos));
                    pos += l;
                }
            }

            result = 0;
        }
        else
        {
            if (sector > (ulong)long.MaxValue / 512)
            {
                return GuestFault.BlockBadSector;
            }

            ulong pos = sector * 512;
            ulong read = 0;
            for (int b = readable; b < _buffers.Count - 1 && pos < (ulong)d.DiskLength; b++)
            {
                (ulong a, uint l) = _buffers[b];
                int n = (int)Math.Min(l, (ulong)d.DiskLength - pos);
                d.Disk.AsSpan((int)pos, n).CopyTo(_mem.AsSpan((int)a));
                Mark(a, (ulong)n);
                pos += (ulong)n;
                read += (ulong)n;
            }

            result = 0;
            used = 1 + (uint)read;
        }

        _mem[status] = result;
        Mark(status, 1);
        return null;
    }

    /// <summary>
    /// Spec §4.5: take the next available chain into <see cref="_buffers"/>, checking the
    /// rules in lguest's order: the avail jump, the head, then per descriptor bounds,
    /// readable-after-writable, loop, next.
    /// </summary>
    private ModelEnd Pop(MQueue q, int device, out bool got, out ushort head, out int readable)
    {
        got = false;
        head = 0;
        readable = 0;
        _buffers.Clear();
        ushort availIdx = Read16(q.Avail + 2);
        ushort pending = (ushort)(availIdx - q.LastAvail);
        if (pending > q.Num)
        {
            return Fail(GuestFault.AvailIndexJump, device);
        }

        if (pending == 0)
        {
            return ModelEnd.None;
        }

        head = Read16(q.Avail + 4 + (2UL * (ulong)(q.LastAvail % q.Num)));
        q.LastAvail++;
        if (head >= q.Num)
        {
            return Fail(GuestFault.HeadIndexOutOfRange, device);
        }

        int writable = 0;
        uint i = head;
        while (true)
        {
            ulong desc = q.Ring + (i * DescSize);
            ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(_mem.AsSpan((int)desc, 8));
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(_mem.AsSpan((int)desc + 8, 4));
            ushort flags = Read16(desc + 12);
            ushort next = Read16(desc + 14);
            if (!(addr < _limit && len <= _limit - addr))
            {
                return Fail(GuestFault.BufferOutOfBounds, device);
            }

            if ((flags & FlagWrite) != 0)
            {
                writable++;
            }
            else if (writable > 0)
            {
                return Fail(GuestFault.ReadableAfterWritable, device);
            }

            if (_buffers.Count + 1 > q.Num)
            {
                return Fail(GuestFault.ChainTooLong, device);
            }

            _buffers.Add((addr, len));
            if ((flags & FlagNext) == 0)
            {
                break;
            }

            if (next >= q.Num)
            {
                return Fail(GuestFault.NextIndexOutOfRange, device);
            }

            i = next;
        }

        readable = _buffers.Count - writable;
        got = true;
        return ModelEnd.None;
    }

    private void Used(MQueue q, ushort head, uint length, ulong writable, int device)
    {
        ushort idx = Read16(q.Used + 2);
        ulong elem = q.Used + 4 + (8UL * (ulong)(idx % q.Num));
        BinaryPrimitives.WriteUInt32LittleEndian(_mem.AsSpan((int)elem, 4), head);
        BinaryPrimitives.WriteUInt32LittleEndian(_mem.AsSpan((int)elem + 4, 4), length);
        BinaryPrimitives.WriteUInt16LittleEndian(_mem.AsSpan((int)q.Used + 2, 2), (ushort)(idx + 1));
        Mark(elem, 8);
        Mark(q.Used + 2, 2);
        Completions.Add(new ModelCompletion(elem, head, length, writable, device, Array.IndexOf(_devices[device].Queues, q)));
    }

    private void Mark(ulong address, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        for (ulong p = address / DirtyLine; p <= (address + length - 1) / DirtyLine; p++)
        {
            _dirty[p] = true;
        }
    }

    private static bool TypedOk((ulong Address, uint Length) b, uint size, uint align) =>
        b.Length == size && (b.Address & (align - 1)) == 0;

    private ushort Read16(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(_mem.AsSpan((int)address, 2));

    private sealed class MQueue
    {
        public ushort Num;
        public uint Pfn;
        public ulong Ring;
        public ulong Avail;
        public ulong Used;
        public int Size;
        public ushort LastAvail;
    }

    private sealed class MDevice
    {
        public byte Type;
        public ulong Descriptor;
        public ulong Status;
        public ulong Ack;
        public int FeatureLength;
        public MQueue[] Queues = [];
        public bool Listening;
        public bool InputDead;
        public long Keys;
        public long KeysTyped;
        public readonly Queue<uint> Frames = new();
        public byte[]? Disk;
        public int DiskLength;
        public bool Kicked;
        public ushort StopAt;
        public int Owed;
        public GuestFault? WorkerFault;
        public bool Isolated;
    }
}
