using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>process_vm_readv(2)</c>: bytes copied (possibly fewer than asked), or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    private static unsafe partial nint process_vm_readv(int pid, iovec* localIov, nuint liovcnt, iovec* remoteIov, nuint riovcnt, nuint flags);

    /// <summary>
    /// One <c>process_vm_readv</c> of <paramref name="destination"/>'s length from
    /// <paramref name="remoteAddress"/> in task <paramref name="pid"/>: the bytes copied (a
    /// partial copy stops at the first unmapped page), or a negative errno read at once.
    /// </summary>
    internal static unsafe long ProcessVmRead(int pid, ulong remoteAddress, Span<byte> destination)
    {
        // SAFETY: local points at destination, pinned for the call, and the kernel writes at
        // most destination.Length bytes there; the remote iovec is only an address in the
        // other process, which the kernel checks itself (EFAULT).
        fixed (byte* local = destination)
        {
            iovec l = new() { iov_base = local, iov_len = (size_t)(ulong)destination.Length };
            iovec r = new() { iov_base = (void*)remoteAddress, iov_len = (size_t)(ulong)destination.Length };
            nint n = process_vm_readv(pid, &l, 1, &r, 1, 0);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }
}
