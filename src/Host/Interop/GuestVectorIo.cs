using System.Buffers;
using System.Runtime.InteropServices;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

/// <summary>
/// Scatter/gather transfers straight between a file and guest buffers: one iovec per buffer,
/// pointing into guest memory pinned for the call, handed to <c>preadv</c> / <c>pwritev</c>
/// and resumed where a partial transfer stopped.
/// </summary>
/// <remarks>lguest.c's <c>readv()</c>/<c>writev()</c> after an <c>lseek()</c>, without the seek.</remarks>
internal static class GuestVectorIo
{
    /// <summary>iovecs kept on the stack: 16 × 16 bytes.</summary>
    private const int StackIovecs = 16;

    private const int Eintr = 4;

    /// <summary>
    /// Reads into <paramref name="buffers"/> from <paramref name="offset"/> until they are full
    /// or the file ends.
    /// </summary>
    /// <returns>Bytes read (fewer than asked only at the end of the file), or a negative errno.</returns>
    public static long Read(SafeFileHandle file, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) =>
        Transfer(file, memory, buffers, offset, write: false);

    /// <summary>Writes all of <paramref name="buffers"/> at <paramref name="offset"/>.</summary>
    /// <returns>Bytes written (fewer than asked only if the file took no more), or a negative errno.</returns>
    public static long Write(SafeFileHandle file, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) =>
        Transfer(file, memory, buffers, offset, write: true);

    private static unsafe long Transfer(SafeFileHandle file, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset, bool write)
    {
        foreach (GuestBuffer b in buffers)
        {
            if (!memory.IsValidRange(b.Address, b.Length))
            {
                throw new ArgumentOutOfRangeException(nameof(buffers), $"buffer 0x{b.Address:x}+0x{b.Length:x} is outside guest memory");
            }
        }

        Iovec[]? rented = null;
        Span<Iovec> iovecs = buffers.Length <= StackIovecs
            ? stackalloc Iovec[StackIovecs]
            : (rented = ArrayPool<Iovec>.Shared.Rent(buffers.Length));
        try
        {
            // SAFETY: guest memory is one contiguous range [0, Limit) (lguest.c's guest_base +
            // P); the span over all of it is fixed here, which pins a managed backing array
            // (and is a no-op for mmap'd memory) until the block ends. Every iovec is
            // guestBase + address with [address, address + length) checked above to lie in
            // [0, Limit), so the kernel only ever sees pinned guest bytes. The iovec array
            // itself is on the stack or a pinned rented array, alive for every call below.
            fixed (byte* guestBase = memory.GetSpan(0, memory.Limit))
            fixed (Iovec* iov = iovecs)
            {
                for (int i = 0; i < buffers.Length; i++)
                {
                    iov[i].Base = guestBase + buffers[i].Address;
                    iov[i].Length = buffers[i].Length;
                }

                return Loop(file, iov, buffers.Length, offset, write);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<Iovec>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Calls preadv/pwritev until every iovec is done, the file ends, or it fails.</summary>
    private static unsafe long Loop(SafeFileHandle file, Iovec* iov, int count, long offset, bool write)
    {
        long done = 0;
        int first = 0;
        while (true)
        {
            while (first < count && iov[first].Length == 0)
            {
                first++;
            }

            if (first == count)
            {
                return done;
            }

            nint r = write
                ? Sys.Pwritev(file, iov + first, count - first, offset + done)
                : Sys.Preadv(file, iov + first, count - first, offset + done);
            if (r < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Eintr)
                {
                    continue;
                }

                return -errno;
            }

            if (r == 0)
            {
                // Reading: the end of the file. Writing: the file takes no more; the caller
                // sees the short count.
                return done;
            }

            done += r;

            // Resume after a partial transfer: drop the iovecs it finished, trim the one it
            // stopped in.
            nuint left = (nuint)r;
            while (first < count && left >= iov[first].Length)
            {
                left -= iov[first].Length;
                first++;
            }

            if (first < count)
            {
                iov[first].Base += left;
                iov[first].Length -= left;
            }
        }
    }
}
