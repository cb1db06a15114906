using LguestSim.Engine;
using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Net;

/// <summary>
/// Moves the calling thread into another network namespace (<c>setns(2)</c>): sockets, taps
/// and interface look-ups it makes afterwards belong to that namespace, and keep belonging
/// to it whichever thread uses them later.
/// </summary>
/// <remarks>
/// Only the calling thread moves. Call it on a thread made for the purpose (never a pool
/// thread), which then opens what it needs and ends. sysfs is not per thread: it keeps
/// showing the namespace it was mounted for.
/// </remarks>
public static class ThreadNetNamespace
{
    /// <summary>Enters the namespace named by <paramref name="path"/> (e.g. <c>/var/run/netns/NAME</c>).</summary>
    /// <exception cref="LguestHostException">The file cannot be opened, or <c>setns</c> failed.</exception>
    public static void Enter(string path)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LguestHostException($"cannot open network namespace {path}: {e.Message}", 0);
        }

        using (file)
        {
            int rc = Sys.SetNetNamespace(file);
            if (rc < 0)
            {
                throw new LguestHostException($"cannot enter network namespace {path}", -rc);
            }
        }
    }
}
