using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>read(2)</c>: bytes read, 0 at end of file, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint Read(SafeFileHandle fd, byte* buffer, nuint count);
}
