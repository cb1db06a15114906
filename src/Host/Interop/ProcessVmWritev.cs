using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>process_vm_writev(2)</c>: bytes copied (possibly fewer than asked), or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "process_vm_writev", SetLastError = true)]
    private static unsafe partial nint process_vm_writev(int pid, iovec* localIov, nuint liovcnt, iovec* remoteIov, nuint riovcnt, nuint flags);

    /// <summary>
    /// One <c>process_vm_writev</c> of <paramref name="source"/> to <paramref name="remoteAddress"/>
    /// in task <paramref name="pid"/>: the bytes copied (a partial copy stops at the first
    /// unmapped or read-only page), or a negative errno read at once.
    /// </summary>
    internal static unsafe long ProcessVmWrite(int pid, ulong remoteAddress, ReadOnlySpan<byte> source)
    {
        // SAFETY: local points at source, pinned for the call, and the kernel only reads
        // source.Length bytes there; the remote iovec is only an address in the other
        // process, which the kernel checks itself (EFAULT).
        fixed (byte* local = source)
        {
            iovec l = new() { iov_base = local, iov_len = (size_t)(ulong)source.Length };
            iovec r = new() { iov_base = (void*)remoteAddress, iov_len = (size_t)(ulong)source.Length };
            nint n = process_vm_writev(pid, &l, 1, &r, 1, 0);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }
}
