using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>CLOSE_RANGE_CLOEXEC</c> (linux/close_range.h): mark the range close-on-exec instead of closing it.</summary>
    internal const uint CloseRangeCloexec = 1U << 2;

    /// <summary><c>close_range(2)</c> (glibc 2.34+): 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "close_range", SetLastError = true)]
    internal static partial int CloseRange(uint first, uint last, uint flags);
}
