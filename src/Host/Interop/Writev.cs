using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>writev(2)</c>: bytes written, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    internal static unsafe partial nint Writev(SafeFileHandle fd, iovec* iov, int iovcnt);
}
