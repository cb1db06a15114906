using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Block;

/// <summary>An in-memory "file" with the semantics of pread/pwrite on a regular file.</summary>
public class MemoryBlockStore(byte[] bytes) : IBlockStore
{
    public byte[] Bytes { get; } = bytes;

    public long Length => Bytes.Length;

    public virtual long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        // pread's EINVAL when offset + length passes the largest file offset.
        ulong total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        if ((ulong)offset + total > long.MaxValue)
        {
            return -22;
        }

        long done = 0;
        foreach (GuestBuffer b in buffers)
        {
            long from = offset + done;
            int n = (int)Math.Clamp(Bytes.Length - from, 0, b.Length);
            if (n > 0)
            {
                memory.Write(b.Address, Bytes.AsSpan((int)from, n));
            }

            done += n;
            if (n < b.Length)
            {
                break;
            }
        }

        return done;
    }

    public virtual long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        long done = 0;
        foreach (GuestBuffer b in buffers)
        {
            memory.GetSpan(b.Address, b.Length).CopyTo(Bytes.AsSpan((int)(offset + done)));
            done += b.Length;
        }

        return done;
    }

    public virtual int FlushData() => 0;
}

/// <summary>
/// A store that fails the calls it is told to: the n-th read, write or flush (counting from
/// 1, the probe's partition-table read included) returns <see cref="Errno"/> negated without
/// touching anything, or, for writes listed as short, writes only half of the data.
/// </summary>
public sealed class FailingBlockStore(byte[] bytes) : MemoryBlockStore(bytes)
{
    public const int Eio = 5;

    private int _reads;
    private int _writes;
    private int _flushes;

    public int Errno { get; init; } = Eio;

    public HashSet<int> FailReads { get; init; } = new();

    public HashSet<int> FailWrites { get; init; } = new();

    public HashSet<int> ShortWrites { get; init; } = new();

    public HashSet<int> FailFlushes { get; init; } = new();

    public override long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) =>
        FailReads.Contains(Interlocked.Increment(ref _reads)) ? -Errno : base.ReadAt(memory, buffers, offset);

    public override long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        int n = Interlocked.Increment(ref _writes);
        if (FailWrites.Contains(n))
        {
            return -Errno;
        }

        if (ShortWrites.Contains(n))
        {
            // Like a disk that fills up half-way: the first half lands, then the write stops.
            GuestBuffer first = buffers[0];
            var half = new GuestBuffer(first.Address, first.Length / 2);
            return base.WriteAt(memory, [half], offset);
        }

        return base.WriteAt(memory, buffers, offset);
    }

    public override int FlushData() =>
        FailFlushes.Contains(Interlocked.Increment(ref _flushes)) ? -Errno : base.FlushData();
}
