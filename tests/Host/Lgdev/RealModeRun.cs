using System.Diagnostics;
using System.Globalization;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Tests.Host.Net;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// One scenario run in real mode: <c>lguestsim run</c> (the real Launcher) on the emulated
/// device of <c>lguestsim lgdev --scenario</c>, in a network namespace of its own, with the
/// scenario's host side played for real (host.type into the Launcher's stdin FIFO, host.net.*
/// on its taps). Everything it creates (namespace, mount, FIFO, block files, temporary
/// directory) is gone when <see cref="Run"/> returns, whatever happened.
/// </summary>
/// <remarks>
/// <para>
/// <c>ip netns exec</c> gives its command a private mount namespace (to remount /sys for the
/// network namespace), so a FUSE mount made by one <c>ip netns exec</c> is invisible to the
/// next. The server and the Launcher therefore run under one shell in one <c>ip netns exec</c>:
/// the shell mounts lgdev, waits for DIR/lguest, runs the Launcher with its stdin from the FIFO,
/// stops lgdev with SIGTERM, and unmounts DIR by its exact path on its way out (a trap). If the
/// shell is killed instead (the timeout), the mount still goes: it lives only in that private
/// mount namespace, which dies with its last process; <see cref="Run"/> then also checks that
/// nothing of it is mounted in the test's own namespace.
/// </para>
/// <para>
/// The FIFO: lgdev opens it read-write at start-up (that never blocks on Linux), so the
/// Launcher's <c>&lt; FIFO</c> never waits, and the Launcher sees end of file only when the
/// scenario says <c>host.console.eof</c>.
/// </para>
/// </remarks>
public sealed record RealModeRun(string Transcript, string ServerStderr, byte[] Stdout, string Stderr, int ExitCode, string CommandLine, bool TimedOut)
{
    /// <summary>How long one run may take before its processes are killed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly string s_kernel = Path.Combine(NetTestText.RepoRoot, "fixtures", "kernels", "vmlinux.elf");

    private const string Script = """
        dll=$1 dir=$2 scenario=$3 fifo=$4 transcript=$5 out=$6 err=$7 rc=$8; shift 8
        trap 'umount -l "$dir" 2>/dev/null' EXIT
        dotnet "$dll" lgdev --mount "$dir" --scenario "$scenario" --console-input "$fifo" --transcript "$transcript" >/dev/null 2>"$transcript.err" &
        lgdev=$!
        echo $lgdev >"$rc.lgdev"
        i=0
        while [ ! -e "$dir/lguest" ]; do
          kill -0 $lgdev 2>/dev/null || { echo "lguestsim lgdev exited before mounting: $(cat "$transcript.err")" >&2; exit 1; }
          i=$((i+1)); [ $i -gt 300 ] && { echo "lguestsim lgdev did not mount within 30 s" >&2; kill -TERM $lgdev; exit 1; }
          sleep 0.1
        done
        dotnet "$dll" run --device="$dir/lguest" "$@" <"$fifo" >"$out" 2>"$err"
        echo $? >"$rc"
        kill -TERM $lgdev
        wait $lgdev
        """;

    /// <summary>
    /// Runs <paramref name="scenarioPath"/> in real mode and returns what both processes left.
    /// A run that takes longer than <see cref="Timeout"/> is ended (lgdev stopped first, so that
    /// its transcript shows how far the guest got) and marked <see cref="TimedOut"/>.
    /// </summary>
    /// <param name="scenarioPath">The scenario lgdev's guest plays.</param>
    /// <param name="launcherOptions">Options for <c>lguestsim run</c> before the devices (e.g. <c>--guest-errors=isolate</c>).</param>
    /// <exception cref="InvalidOperationException">The run could not be set up, or lgdev left no transcript.</exception>
    public static RealModeRun Run(string scenarioPath, params string[] launcherOptions)
    {
        Scenario scenario = ScenarioParser.ParseFile(scenarioPath, Path.GetFileName(scenarioPath));
        string dir = Directory.CreateTempSubdirectory("lguestsim-real-").FullName;
        string fifo = dir + ".stdin";
        string transcript = dir + ".transcript";
        string stdout = dir + ".stdout";
        string stderr = dir + ".stderr";
        string rc = dir + ".rc";
        var blocks = new List<string>();
        using NetNamespace ns = NetNamespace.Create();
        try
        {
            Command.Check("mkfifo", fifo);
            var launcher = new List<string>(launcherOptions);
            int nets = 0;
            for (int i = 0; i < scenario.Devices.Count; i++)
            {
                DeviceSpec d = scenario.Devices[i];
                switch (d.Kind.Name)
                {
                    case "net":
                        // One link-local /24-style address per tap; the scenario host finds the taps in this namespace.
                        launcher.Add(string.Create(CultureInfo.InvariantCulture, $"--tunnet=169.254.{++nets}.1"));
                        break;
                    case "block":
                        string file = $"{dir}.{blocks.Count}.img";
                        blocks.Add(file);
                        CreateDisk(file, d);
                        launcher.Add($"--block={file}");
                        break;
                    case "console" when i == scenario.Devices.Count - 1:
                        // lguest's console is always the last device, never on the command line.
                        break;
                    default:
                        throw new InvalidOperationException($"{scenario.Name}: device {i} ({d.Kind.Name}) cannot be given to lguestsim run");
                }
            }

            launcher.Add(scenario.MemoryMiB.ToString(CultureInfo.InvariantCulture));
            launcher.Add(s_kernel);
            string dll = Path.Combine(AppContext.BaseDirectory, "lguestsim.dll");
            string[] command = ["ip", "netns", "exec", ns.Name, "sh", "-c", Script, "sh", dll, dir, scenarioPath, fifo, transcript, stdout, stderr, rc, .. launcher];
            var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in command.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }

            using Process shell = Process.Start(psi)!;
            Task<string> shellErr = shell.StandardError.ReadToEndAsync();
            _ = shell.StandardOutput.ReadToEndAsync();
            bool timedOut = !shell.WaitForExit(Timeout);
            if (timedOut)
            {
                // Stop lgdev first: it lets go of the Launcher's held calls (the Launcher then
                // ends) and writes its transcript, so that the comparison can show where it stuck.
                if (File.Exists(rc + ".lgdev"))
                {
                    Command.Run("kill", "-TERM", File.ReadAllText(rc + ".lgdev").Trim());
                }

                if (!shell.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    shell.Kill(entireProcessTree: true);
                    shell.WaitForExit();
                }
            }

            if (!File.Exists(transcript))
            {
                throw new InvalidOperationException($"{scenario.Name}: the real run did not complete (shell exit {shell.ExitCode}): {shellErr.Result.Trim()}");
            }

            return new RealModeRun(
                File.ReadAllText(transcript),
                ReadOrEmpty(transcript + ".err"),
                File.ReadAllBytes(stdout),
                File.ReadAllText(stderr),
                File.Exists(rc) ? int.Parse(File.ReadAllText(rc).Trim(), CultureInfo.InvariantCulture) : -1,
                "lguestsim run --device=DIR/lguest " + string.Join(' ', launcher),
                timedOut);
        }
        finally
        {
            // The mount was in the shell's private mount namespace; make sure none leaked into ours.
            if (File.ReadAllLines("/proc/self/mounts").Any(l => l.Split(' ')[1] == dir))
            {
                Command.Run("umount", "-l", dir);
            }

            TryDelete(() => Directory.Delete(dir));
            foreach (string f in new[] { fifo, transcript, transcript + ".err", stdout, stderr, rc, rc + ".lgdev" }.Concat(blocks))
            {
                TryDelete(() => File.Delete(f));
            }
        }
    }

    /// <summary>A disk as the simulator makes one: <c>size=</c> bytes of the <c>fill=</c> pattern (zeros by default).</summary>
    private static void CreateDisk(string path, DeviceSpec spec)
    {
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        byte[] chunk = (spec.Fill ?? new DataPattern(true, 0)).Generate((int)Math.Min(spec.SizeBytes, 1 << 20));
        for (long written = 0; written < spec.SizeBytes; written += chunk.Length)
        {
            f.Write(chunk, 0, (int)Math.Min(chunk.Length, spec.SizeBytes - written));
        }
    }

    private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    private static void TryDelete(Action delete)
    {
        try
        {
            delete();
        }
        catch (IOException)
        {
            // Still busy; a temporary file is harmless.
        }
    }
}
