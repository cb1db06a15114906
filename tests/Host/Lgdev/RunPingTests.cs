using LguestSim.Tests.Host.Net;
using Xunit;
using Xunit.Abstractions;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// Issue 11: the real Launcher (<c>lguestsim run --tunnet</c>) on the emulated device, in a
/// network namespace the test owns, with the ping scenario's guest behind the device: the
/// guest's frames go out through the Launcher's tap to the host kernel, and the kernel's
/// answers come back through it, as <c>sim --tunnet</c> does in-process (<see cref="TapPingTests"/>).
/// </summary>
public sealed class RunPingTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string s_kernel = Path.Combine(NetTestText.RepoRoot, "fixtures", "kernels", "vmlinux.elf");
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-runping-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [FuseFact(NeedsTap = true)]
    public void RunOnLgdev_Tunnet_GuestPingsTheHostKernel_TranscriptShowsTheConversation()
    {
        const string Host = "169.254.31.1";
        const string Guest = "169.254.31.2";
        string scenario = NetTestText.WriteScenario(_dir, "ping", TapPingTests.PingScenario(Host, Guest));
        string name;
        string transcript;
        string neighbours;
        (int Exit, string Stdout, string Stderr) run;
        using (NetNamespace ns = NetNamespace.Create())
        {
            name = ns.Name;
            using NetNamespace.LinkMonitor monitor = ns.MonitorNeighbours();

            // A bridge of its own shows that the monitor listens before the tap exists: its
            // changes are made again until the monitor prints one (it may start after the first).
            ns.Ip("link", "add", "lgbr31", "type", "bridge");
            bool listening = false;
            for (int i = 0; i < 50 && !listening; i++)
            {
                ns.Ip("link", "set", "lgbr31", "mtu", i % 2 == 0 ? "1400" : "1500");
                listening = monitor.WaitFor("lgbr31", TimeSpan.FromMilliseconds(200));
            }

            Assert.True(listening, "ip monitor printed nothing");

            // The server joins the namespace (its packet sockets open on the Launcher's taps there) but keeps the mount namespace, so the Launcher sees the mount.
            using (var server = LgdevServer.InNamespace(ns.Name, "--scenario", scenario))
            {
                using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(90));
                run = Launcher(ns.Name, "run", $"--tunnet={Host}", $"--device={server.DevicePath}", "32", s_kernel);
                server.Stop();
                transcript = File.ReadAllText(server.TranscriptPath);
                Assert.False(server.IsMounted(), "the mount outlived the server");
            }

            neighbours = monitor.Stop();
        }

        output.WriteLine(transcript);
        output.WriteLine(neighbours);
        Assert.False(NetNamespace.Exists(name), $"namespace {name} left behind");
        Assert.EndsWith("lguestsim: CRASH: Power down\n", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, run.Exit);

        // The MACs as the guest learnt them: its own from the device's config, the tap's from the kernel's ARP reply.
        string guestMac = Field(transcript, "guest: net mac ", 0);
        string hostMac = Field(transcript, $"guest: ip arp reply {Host} is-at ", 0);
        Assert.NotEqual(hostMac, guestMac);
        string[] lines = TapPingTests.ConversationLines(Host, Guest, hostMac, guestMac);
        NetTestText.AssertLinesInOrder(transcript, [.. lines[..^1], "guest: power off \"Power down\"", "fh=1 run: died (ENOENT): CRASH: Power down"]);

        // The kernel's side of it: it learnt the guest's MAC on the Launcher's tap from the guest's ARP reply.
        Assert.Contains(
            neighbours.Split('\n'),
            l => l.StartsWith($"{Guest} dev tap", StringComparison.Ordinal) && l.Contains($" lladdr {guestMac} ", StringComparison.Ordinal));
    }

    /// <summary>The first whitespace-separated field after <paramref name="prefix"/> on the first line starting with it.</summary>
    private static string Field(string text, string prefix, int index)
    {
        string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, $"no line starting with '{prefix}' in:\n{text}");
        return line[prefix.Length..].Split(' ', ',')[index];
    }

    /// <summary>Runs <c>ip netns exec NS dotnet lguestsim.dll ARGS</c> with its standard input at end of file.</summary>
    private static (int Exit, string Stdout, string Stderr) Launcher(string ns, params string[] args) =>
        LauncherProcess.Run(["ip", "netns", "exec", ns, "dotnet", LauncherProcess.Dll, .. args]);
}
