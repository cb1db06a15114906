using System.Runtime.InteropServices;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Threading;

/// <summary>
/// The calling thread's CPU affinity (the first 64 CPUs), for benchmarks that give the block
/// worker a CPU of its own. Threads a thread creates afterwards inherit its affinity.
/// </summary>
public static class CpuAffinity
{
    /// <summary>The CPUs the calling thread may run on, one bit each.</summary>
    /// <exception cref="IOException">sched_getaffinity failed (the message has the errno).</exception>
    public static unsafe ulong GetCurrentThread()
    {
        ulong mask = 0;

        // SAFETY: &mask points at 8 bytes on this stack frame, alive for the call; the size
        // passed is exactly those 8 bytes.
        int rc = Sys.SchedGetaffinity(0, sizeof(ulong), &mask);
        if (rc != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"sched_getaffinity failed (errno {errno})");
        }

        return mask;
    }

    /// <summary>Restricts the calling thread to the CPUs in <paramref name="mask"/>.</summary>
    /// <returns>False when the kernel refused (e.g. no such CPU); the affinity is then unchanged.</returns>
    public static unsafe bool TrySetCurrentThread(ulong mask)
    {
        // SAFETY: as above, &mask is 8 bytes on this stack frame for the duration of the call.
        return Sys.SchedSetaffinity(0, sizeof(ulong), &mask) == 0;
    }
}
