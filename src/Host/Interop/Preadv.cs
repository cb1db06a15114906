using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>preadv(2)</c>: bytes read, 0 at end of file, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "preadv", SetLastError = true)]
    internal static unsafe partial nint Preadv(SafeFileHandle fd, iovec* iov, int iovcnt, long offset);
}
