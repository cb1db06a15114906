using System.Buffers;
using System.Buffers.Binary;

namespace LguestSim.Emulator.Fuse;

/// <summary>
/// One READ or WRITE of the emulated file, waiting for its reply: answered at once, or later
/// from another thread (a run that blocks, a held break). Exactly one reply goes out; later
/// ones are ignored.
/// </summary>
public sealed class FuseCall
{
    private readonly IFuseReplies _replies;
    private readonly CancellationTokenSource _interrupted = new();
    private int _answered;

    internal FuseCall(IFuseReplies replies, ulong unique, int callerThreadId)
    {
        _replies = replies;
        Unique = unique;
        CallerThreadId = callerThreadId;
    }

    /// <summary>The request's id (<c>fuse_in_header.unique</c>).</summary>
    public ulong Unique { get; }

    /// <summary>The calling thread's id (<c>fuse_in_header.pid</c>).</summary>
    public int CallerThreadId { get; }

    /// <summary>Cancelled when the kernel sends <c>FUSE_INTERRUPT</c> for this call (a signal reached the caller).</summary>
    public CancellationToken Interrupted => _interrupted.Token;

    /// <summary>Fails the call with <paramref name="errno"/> (positive).</summary>
    public void ReplyError(int errno) => Send(-errno, []);

    /// <summary>Answers a READ with <paramref name="data"/>.</summary>
    public void ReplyData(ReadOnlySpan<byte> data) => Send(0, data);

    /// <summary>Answers a WRITE: <paramref name="size"/> is what write(2) returns to the caller.</summary>
    public void ReplyWritten(uint size)
    {
        Span<byte> writeOut = stackalloc byte[FuseLayout.WriteOutSize];
        writeOut.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(writeOut[0..4], size);
        Send(0, writeOut);
    }

    /// <summary>Marks the call interrupted (from the reader thread, on <c>FUSE_INTERRUPT</c>).</summary>
    internal void Interrupt() => _interrupted.Cancel();

    private void Send(int error, ReadOnlySpan<byte> payload)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return;
        }

        int length = FuseLayout.OutHeaderSize + payload.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> reply = rented.AsSpan(0, length);
            BinaryPrimitives.WriteUInt32LittleEndian(reply[0..4], (uint)length);
            BinaryPrimitives.WriteInt32LittleEndian(reply[4..8], error);
            BinaryPrimitives.WriteUInt64LittleEndian(reply[8..16], Unique);
            payload.CopyTo(reply[16..]);
            _replies.Send(this, reply);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        // _interrupted is not disposed: an interrupt racing this reply may still cancel it,
        // and a source without a timer holds nothing that needs freeing.
    }
}

/// <summary>Where a <see cref="FuseCall"/>'s reply goes: the server, which writes it and forgets the call.</summary>
internal interface IFuseReplies
{
    /// <summary>Writes <paramref name="reply"/> (header included) for <paramref name="call"/>.</summary>
    void Send(FuseCall call, ReadOnlySpan<byte> reply);
}

/// <summary>
/// What the one regular file of the filesystem does: its opens, reads, writes and releases.
/// Reads and writes may answer later, from any thread.
/// </summary>
public interface IEmulatedFile
{
    /// <summary>An open of the file: returns the new file handle (<c>fh</c>).</summary>
    ulong Open();

    /// <summary>A <c>pread(fd, buf, <paramref name="size"/>, <paramref name="offset"/>)</c> on handle <paramref name="fh"/>.</summary>
    void Read(FuseCall call, ulong fh, ulong offset, uint size);

    /// <summary>A <c>pwrite(fd, <paramref name="data"/>, len, <paramref name="offset"/>)</c> on handle <paramref name="fh"/>.</summary>
    void Write(FuseCall call, ulong fh, ulong offset, ReadOnlySpan<byte> data);

    /// <summary>The last close of handle <paramref name="fh"/>.</summary>
    void Release(ulong fh);
}
