using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Fuzz;

/// <summary>The bytes the fuzz machine's host side offers: keys and frames, a pure function of position.</summary>
public static class HostData
{
    /// <summary>Byte <paramref name="i"/> of the keyboard stream (never ^C, which would end the Launcher).</summary>
    public static byte Key(long i) => (byte)('a' + (i % 26));

    /// <summary>Byte <paramref name="i"/> of a frame of <paramref name="length"/> bytes.</summary>
    public static byte Frame(uint length, int i) => (byte)(0x40 + (i * 7) + length);

    /// <summary>Byte <paramref name="i"/> of a disk's initial image.</summary>
    public static byte Disk(int disk, int i) => (byte)((i * 13) + (i >> 9) + (disk * 101));

    /// <summary>Bytes in <paramref name="buffers"/>: all a host end that only counts takes of a write.</summary>
    internal static int Total(ReadOnlySpan<GuestBuffer> buffers)
    {
        long total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        return (int)total;
    }
}

/// <summary>An input source that is ready while its predicate says so.</summary>
internal sealed class FuzzInput : InputSource
{
    private readonly Func<bool> _ready;

    public FuzzInput(Func<bool> ready) => _ready = ready;

    public override bool IsReady => _ready();
}

/// <summary>The console's host end: a keyboard of <see cref="HostData.Key"/> bytes, a screen that counts.</summary>
internal sealed class FuzzConsolePort : IConsolePort
{
    private readonly FuzzInput _input;
    private long _keysTyped;

    public FuzzConsolePort() => _input = new FuzzInput(() => PendingKeys > 0);

    public InputSource Input => _input;

    /// <summary>Keys typed and not yet read.</summary>
    public long PendingKeys { get; private set; }

    /// <summary>Writes so far (for liveness).</summary>
    public long Writes { get; private set; }

    public void Type(uint count) => PendingKeys += count;

    public void Clear()
    {
        PendingKeys = 0;
        _keysTyped = 0;
        Writes = 0;
    }

    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        long left = PendingKeys;
        int read = 0;
        foreach (GuestBuffer b in buffers)
        {
            if (left == 0)
            {
                break;
            }

            int n = (int)Math.Min(left, b.Length);
            Span<byte> dst = memory.GetSpan(b.Address, (ulong)n);
            for (int i = 0; i < n; i++)
            {
                dst[i] = HostData.Key(_keysTyped + read + i);
            }

            read += n;
            left -= n;
        }

        PendingKeys = left;
        _keysTyped += read;
        return read;
    }

    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        // The screen only counts: the bytes were read from guest memory by the device already
        // being handed these buffers, and copying megabytes per execution would measure memcpy.
        Writes++;
        return HostData.Total(buffers);
    }

    public void InputFailed()
    {
    }
}

/// <summary>The net device's host end: frames of <see cref="HostData.Frame"/> bytes waiting, a wire that counts.</summary>
internal sealed class FuzzTap : ITap
{
    private static readonly byte[] s_mac = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    private readonly FuzzInput _input;
    private readonly Queue<uint> _frames = new();

    public FuzzTap() => _input = new FuzzInput(() => _frames.Count > 0);

    public InputSource Input => _input;

    public ReadOnlySpan<byte> HardwareAddress => s_mac;

    public void Arrive(uint length) => _frames.Enqueue(length);

    public void Clear()
    {
        _frames.Clear();
    }

    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        uint length = _frames.Dequeue();
        int read = 0;
        foreach (GuestBuffer b in buffers)
        {
            int n = (int)Math.Min(length - (uint)read, b.Length);
            Span<byte> dst = memory.GetSpan(b.Address, (ulong)n);
            for (int i = 0; i < n; i++)
            {
                dst[i] = HostData.Frame(length, read + i);
            }

            read += n;
            if (read == length)
            {
                break;
            }
        }

        return read;
    }

    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => HostData.Total(buffers);
}

/// <summary>
/// A disk in memory: the block device's store in the fuzzer (no file; the block file oracle
/// compares it with the model's own disk). Restored to its initial image between executions.
/// </summary>
internal sealed class FuzzDisk : IBlockStore
{
    private readonly byte[] _initial;
    private int _dirtyLow = int.MaxValue;
    private int _dirtyHigh;

    public FuzzDisk(int number, int length)
    {
        Bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            Bytes[i] = HostData.Disk(number, i);
        }

        _initial = (byte[])Bytes.Clone();
    }

    public byte[] Bytes { get; }

    public ReadOnlySpan<byte> Initial => _initial;

    public long Length => Bytes.Length;

    /// <summary>Whether anything was written since the last <see cref="Restore"/>.</summary>
    public bool Dirty => _dirtyHigh > _dirtyLow;

    /// <summary>Reads served (for liveness).</summary>
    public long Reads { get; private set; }

    public void Restore()
    {
        if (_dirtyHigh > _dirtyLow)
        {
            _initial.AsSpan(_dirtyLow, _dirtyHigh - _dirtyLow).CopyTo(Bytes.AsSpan(_dirtyLow));
        }

        _dirtyLow = int.MaxValue;
        _dirtyHigh = 0;
        Reads = 0;
    }

    public long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        Reads++;
        long pos = offset;
        foreach (GuestBuffer b in buffers)
        {
            if (pos >= Bytes.Length)
            {
                break;
            }

            int n = (int)Math.Min(b.Length, Bytes.Length - pos);
            Bytes.AsSpan((int)pos, n).CopyTo(memory.GetSpan(b.Address, (ulong)n));
            pos += n;
        }

        return Math.Max(0, pos - offset);
    }

    public long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        long pos = offset;
        foreach (GuestBuffer b in buffers)
        {
            if (b.Length == 0)
            {
                continue;
            }

            // The device checked the whole write against the length before calling; a write
            // that would still grow the disk is the device's bug, and the disk oracle's to see.
            if (pos + b.Length > Bytes.Length)
            {
                throw new InvalidOperationException($"fuzz disk: write at {pos} of {b.Length} bytes past its end ({Bytes.Length})");
            }

            memory.GetSpan(b.Address, b.Length).CopyTo(Bytes.AsSpan((int)pos));
            _dirtyLow = Math.Min(_dirtyLow, (int)pos);
            _dirtyHigh = Math.Max(_dirtyHigh, (int)(pos + b.Length));
            pos += b.Length;
        }

        return pos - offset;
    }

    public int FlushData() => 0;
}
