using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>pwritev(2)</c>: bytes written, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "pwritev", SetLastError = true)]
    internal static unsafe partial nint Pwritev(SafeFileHandle fd, iovec* iov, int iovcnt, long offset);
}
