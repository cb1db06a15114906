using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>unlockpt(3)</c>: 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    internal static partial int Unlockpt(SafeFileHandle master);
}
