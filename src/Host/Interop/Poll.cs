using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    private const int ReadyMask = 0x1 | 0x8 | 0x10; // POLLIN | POLLERR | POLLHUP

    /// <summary>
    /// <c>poll(2)</c> for readability on <paramref name="handles"/>; fills <paramref name="readable"/>.
    /// Returns the number ready, or a negative errno (read at once).
    /// </summary>
    internal static unsafe int PollReadable(ReadOnlySpan<SafeHandle> handles, Span<bool> readable, int timeoutMs)
    {
        int n = handles.Length;
        pollfd* fds = stackalloc pollfd[n];
        var added = new bool[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                handles[i].DangerousAddRef(ref added[i]);
                fds[i].fd = (int)handles[i].DangerousGetHandle();
                fds[i].events = LibC.POLLIN;
                fds[i].revents = 0;
            }

            // SAFETY: fds points at n initialised pollfd structs on this stack frame, alive for the call.
            int rc = LibC.poll(fds, (ulong_t)(ulong)n, timeoutMs);
            if (rc < 0)
            {
                return -LibC.errno;
            }

            for (int i = 0; i < n; i++)
            {
                readable[i] = (fds[i].revents & ReadyMask) != 0;
            }

            return rc;
        }
        finally
        {
            for (int i = 0; i < n; i++)
            {
                if (added[i])
                {
                    handles[i].DangerousRelease();
                }
            }
        }
    }
}
