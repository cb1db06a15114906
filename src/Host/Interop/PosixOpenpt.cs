using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>posix_openpt(3)</c>: a new pseudo-terminal master fd, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    internal static partial int PosixOpenpt(int flags);
}
