using System.Runtime.InteropServices;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>
/// Scatter/gather transfers straight between a file and guest buffers: one iovec per buffer,
/// pointing into guest memory pinned for the call, handed to <c>preadv</c> / <c>pwritev</c>
/// and resumed where a partial transfer stopped.
/// </summary>
/// <remarks>lguest.c's <c>readv()</c>/<c>writev()</c> after an <c>lseek()</c>, without the seek.</remarks>
internal static class GuestVectorIo
{
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

    private static long Transfer(SafeFileHandle file, GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset, bool write) =>
        GuestIovecs.Run(memory, buffers, new FileCall(file, offset, write));

    private readonly struct FileCall(SafeFileHandle file, long offset, bool write) : IIovecCall
    {
        public unsafe long Invoke(iovec* iov, int count) => Loop(file, iov, count, offset, write);
    }

    /// <summary>Calls preadv/pwritev until every iovec is done, the file ends, or it fails.</summary>
    private static unsafe long Loop(SafeFileHandle file, iovec* iov, int count, long offset, bool write)
    {
        long done = 0;
        int first = 0;
        while (true)
        {
            while (first < count && (ulong)iov[first].iov_len == 0)
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
            ulong left = (ulong)r;
            while (first < count && left >= (ulong)iov[first].iov_len)
            {
                left -= (ulong)iov[first].iov_len;
                first++;
            }

            if (first < count)
            {
                iov[first].iov_base = (byte*)iov[first].iov_base + left;
                iov[first].iov_len = (size_t)((ulong)iov[first].iov_len - left);
            }
        }
    }
}
