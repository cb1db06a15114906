using System.Runtime.InteropServices;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>
/// Scatter/gather transfers between a stream (a terminal, a pipe) and guest buffers: one
/// <c>readv</c> or one <c>writev</c> with an iovec per buffer, pointing straight into guest
/// memory pinned for the call. Unlike a file, a stream is never looped over: the caller gets
/// whatever the one call did, as lguest.c's console does.
/// </summary>
internal static class GuestStreamIo
{
    private const int Eintr = 4;

    /// <summary>One <c>readv</c> into <paramref name="buffers"/>.</summary>
    /// <returns>Bytes read, 0 at end of file, or a negative errno.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A buffer is not inside guest memory.</exception>
    public static int ReadOnce(SafeFileHandle stream, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) =>
        Transfer(stream, memory, buffers, write: false);

    /// <summary>One <c>writev</c> of <paramref name="buffers"/>.</summary>
    /// <returns>Bytes written (possibly fewer than asked), or a negative errno.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A buffer is not inside guest memory.</exception>
    public static int WriteOnce(SafeFileHandle stream, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) =>
        Transfer(stream, memory, buffers, write: true);

    /// <summary>One <c>read</c> (a one-iovec <c>readv</c>) into <paramref name="destination"/>.</summary>
    /// <returns>Bytes read, 0 at end of file, or a negative errno.</returns>
    public static unsafe int ReadOnce(SafeFileHandle stream, Span<byte> destination)
    {
        // SAFETY: destination is fixed for the block; the one iovec covers exactly its bytes.
        fixed (byte* p = destination)
        {
            iovec iov = default;
            iov.iov_base = p;
            iov.iov_len = (uint)destination.Length;
            return Call(stream, &iov, 1, write: false);
        }
    }

    /// <summary>One <c>write</c> (a one-iovec <c>writev</c>) of <paramref name="source"/>.</summary>
    /// <returns>Bytes written, or a negative errno.</returns>
    public static unsafe int WriteOnce(SafeFileHandle stream, ReadOnlySpan<byte> source)
    {
        // SAFETY: source is fixed for the block; the one iovec covers exactly its bytes, and
        // writev only reads through it.
        fixed (byte* p = source)
        {
            iovec iov = default;
            iov.iov_base = p;
            iov.iov_len = (uint)source.Length;
            return Call(stream, &iov, 1, write: true);
        }
    }

    private static int Transfer(SafeFileHandle stream, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, bool write)
    {
        ulong total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        if (total > int.MaxValue)
        {
            // readv/writev would return more than an int's worth; no console chain is that
            // big, but the result type must be able to say what happened.
            throw new ArgumentOutOfRangeException(nameof(buffers), $"buffers total 0x{total:x} bytes");
        }

        return (int)GuestIovecs.Run(memory, buffers, new StreamCall(stream, write));
    }

    private readonly struct StreamCall(SafeFileHandle stream, bool write) : IIovecCall
    {
        public unsafe long Invoke(iovec* iov, int count) => Call(stream, iov, count, write);
    }

    /// <summary>
    /// The one call. EINTR (a signal handler ran before any byte moved) is not a result the
    /// guest should see, so the call is made again; anything else is returned as it is.
    /// </summary>
    private static unsafe int Call(SafeFileHandle stream, iovec* iov, int count, bool write)
    {
        while (true)
        {
            nint r = write ? Sys.Writev(stream, iov, count) : Sys.Readv(stream, iov, count);
            if (r >= 0)
            {
                return (int)r;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != Eintr)
            {
                return -errno;
            }
        }
    }
}
