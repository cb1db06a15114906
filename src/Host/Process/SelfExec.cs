using System.Runtime.InteropServices;
using System.Text;
using LguestSim.Engine;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Process;

/// <summary>
/// The Launcher's restart on a reboot request (spec §6.5): the process replaces itself with a
/// fresh copy of itself, started with exactly the same arguments.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c closed fds 3..1023 and called <c>execv(argv[0], argv)</c>. Here the program is
/// <c>/proc/self/exe</c> and the arguments are <c>/proc/self/cmdline</c>, read back from the
/// kernel: that is the same whether this process was started through the apphost
/// (<c>lguestsim run ...</c>) or as <c>dotnet lguestsim.dll run ...</c>, and needs no PATH
/// search and no copy of argv kept since start-up. Instead of closing fds ≥ 3 (the runtime
/// still uses some of them until the exec), they are all marked close-on-exec, so the new
/// image starts with only stdin, stdout and stderr; the old guest goes with the /dev/lguest fd.
/// </para>
/// <para>
/// The caller leaves the terminal as it found it first (unlike lguest.c, which exec'd with the
/// terminal still raw, so that the new instance saved raw settings as the original ones).
/// </para>
/// </remarks>
public static class SelfExec
{
    /// <summary>Re-executes this process with the arguments it was started with. Returns only by throwing.</summary>
    /// <exception cref="LguestHostException">The arguments cannot be read, or the exec failed.</exception>
    public static void ReExecute()
    {
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (IOException e)
        {
            throw new LguestHostException($"cannot re-execute: cannot read /proc/self/cmdline: {e.Message}", 0);
        }

        List<byte[]> arguments = SplitArguments(cmdline);
        if (arguments.Count == 0)
        {
            throw new LguestHostException("cannot re-execute: /proc/self/cmdline is empty", 0);
        }

        // What the .NET runtime has open (and our own files not yet closed) must not reach the new image.
        if (Sys.CloseRange(3, uint.MaxValue, Sys.CloseRangeCloexec) != 0)
        {
            throw new LguestHostException("cannot re-execute: close_range(3, ~0, CLOSE_RANGE_CLOEXEC) failed", Marshal.GetLastPInvokeError());
        }

        int errno = Sys.Execv("/proc/self/exe"u8, arguments);
        throw new LguestHostException($"cannot re-execute {Encoding.UTF8.GetString(arguments[0].AsSpan(0, arguments[0].Length - 1))}", errno);
    }

    /// <summary>The NUL-terminated words of a <c>cmdline</c> file, each with its NUL.</summary>
    internal static List<byte[]> SplitArguments(ReadOnlySpan<byte> cmdline)
    {
        var words = new List<byte[]>();
        while (!cmdline.IsEmpty)
        {
            int nul = cmdline.IndexOf((byte)0);
            int end = nul < 0 ? cmdline.Length : nul;
            byte[] word = new byte[end + 1];
            cmdline[..end].CopyTo(word);
            words.Add(word);
            cmdline = nul < 0 ? default : cmdline[(nul + 1)..];
        }

        return words;
    }
}
