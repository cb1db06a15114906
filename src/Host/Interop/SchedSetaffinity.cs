using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>sched_setaffinity(2)</c> on thread <paramref name="tid"/> (0: the calling thread): 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    internal static unsafe partial int SchedSetaffinity(int tid, nuint cpusetsize, ulong* mask);
}
