using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>grantpt(3)</c>: 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    internal static partial int Grantpt(SafeFileHandle master);
}
