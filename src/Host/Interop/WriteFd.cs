using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>write(2)</c>: bytes written, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    internal static unsafe partial nint Write(SafeFileHandle fd, byte* buffer, nuint count);
}
