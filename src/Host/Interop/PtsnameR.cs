using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>ptsname_r(3)</c>: 0 with the slave's path in <paramref name="buffer"/>, or an errno value.</summary>
    [LibraryImport("libc", EntryPoint = "ptsname_r")]
    internal static unsafe partial int PtsnameR(SafeFileHandle master, byte* buffer, nuint length);
}
