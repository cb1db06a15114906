using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>sched_getaffinity(2)</c> of thread <paramref name="tid"/> (0: the calling thread): 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    internal static unsafe partial int SchedGetaffinity(int tid, nuint cpusetsize, ulong* mask);
}
