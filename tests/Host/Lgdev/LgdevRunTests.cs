using System.Globalization;
using LguestSim.Tests.Host.Net;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// The real Launcher (<c>lguestsim run</c>) on the emulated device, with a scenario's guest
/// behind it reaching the Launcher's memory from outside: the whole real mode, end to end.
/// </summary>
public sealed class LgdevRunTests
{
    private static readonly string s_kernel = Path.Combine(NetTestText.RepoRoot, "fixtures", "kernels", "vmlinux.elf");
    private static readonly string s_scenarios = Path.Combine(NetTestText.RepoRoot, "fixtures", "scenarios");

    [FuseFact]
    public void RunOnLgdev_PanicScenario_PrintsTheConsoleAndDiesWithTheReason()
    {
        using var server = new LgdevServer("--scenario", Path.Combine(s_scenarios, "panic.scenario"));
        using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(60));
        (int exit, string stdout, string stderr) = Launcher("run", $"--device={server.DevicePath}", "32", s_kernel);
        Assert.Equal("about to panic\n", stdout);
        Assert.Equal("lguestsim: CRASH: Attempted to kill init!\n", stderr);
        Assert.Equal(1, exit);
        server.Stop();
        string transcript = File.ReadAllText(server.TranscriptPath);
        Assert.Contains("guest: e820 1 entry: 0x0+0x2000000 type 1", transcript, StringComparison.Ordinal);
        Assert.Contains("guest: console write \"about to panic\\n\"", transcript, StringComparison.Ordinal);
    }

    [FuseFact]
    public void RunOnLgdev_EarlyConsoleScenario_PowersOff()
    {
        using var server = new LgdevServer("--scenario", Path.Combine(s_scenarios, "early-console.scenario"));
        using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(60));
        (int exit, string stdout, string stderr) = Launcher("run", $"--device={server.DevicePath}", "32", s_kernel);
        Assert.Equal("Linux version 2.6.25 (lguest)\nshort\nexactly sixteen!", stdout);
        Assert.Equal("lguestsim: CRASH: Power down\n", stderr);
        Assert.Equal(1, exit);
    }

    [FuseFact]
    public void RunOnLgdev_Reboot_ReExecutedLauncherReopens_AndTheScenarioCarriesOn()
    {
        using var server = new LgdevServer("--scenario", Path.Combine(s_scenarios, "reboot.scenario"));
        using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(60));
        string disk = server.Directory + ".img";
        File.WriteAllBytes(disk, new byte[16 * 1024]);
        try
        {
            (int exit, string stdout, string stderr) = Launcher("run", $"--block={disk}", $"--device={server.DevicePath}", "32", s_kernel, "root=/dev/vda", "two words");
            Assert.Equal("rebooting\nback\n", stdout);
            Assert.EndsWith("lguestsim: CRASH: Power down\n", stderr, StringComparison.Ordinal);
            Assert.Equal(1, exit);
            server.Stop();
            string[] lines = File.ReadAllLines(server.TranscriptPath);
            Assert.Contains("fh=1 run: reboot (ERESTART)", lines);

            // Two boots from the same arguments: the re-executed Launcher opened the device again
            // and made the same guest (same memory size, kernel entry and page tables; only the
            // host address of guest memory may move), and the new guest read the same command line.
            string[] boots = lines.Where(l => l.StartsWith("guest: e820 ", StringComparison.Ordinal)).ToArray();
            Assert.Equal(2, boots.Length);
            Assert.All(boots, b => Assert.Contains("cmdline \"root=/dev/vda two words\"", b, StringComparison.Ordinal));
            string[] initializes = lines.Where(l => l.Contains(" initialize base=", StringComparison.Ordinal))
                .Select(l => System.Text.RegularExpressions.Regex.Replace(l, "^fh=\\d+ initialize base=0x[0-9a-f]+ (.*) owner thread \\d+$", "$1"))
                .ToArray();
            Assert.Equal(2, initializes.Length);
            Assert.Equal(initializes[0], initializes[1]);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    [FuseFact]
    public void RunOnLgdev_Stats_CountTheRunsTheTranscriptShows_AndTheGuestsCopies()
    {
        using var server = new LgdevServer("--scenario", Path.Combine(s_scenarios, "reboot.scenario"), "--stats");
        using IDisposable watchdog = server.Watchdog(TimeSpan.FromSeconds(60));
        string disk = server.Directory + ".img";
        File.WriteAllBytes(disk, new byte[16 * 1024]);
        try
        {
            (int exit, _, string stderr) = Launcher("run", $"--block={disk}", $"--device={server.DevicePath}", "32", s_kernel);
            Assert.True(exit == 1, stderr);
            server.Stop();
            string[] transcript = File.ReadAllText(server.TranscriptPath).Split('\n');
            string[] stats = server.StandardOutput().Split('\n').Where(l => l.StartsWith("stats: ", StringComparison.Ordinal)).ToArray();
            Assert.True(stats.Length == 9, string.Join('\n', stats));

            // Two guests (the reboot), and every run the transcript shows, each ended as it says.
            Assert.StartsWith("stats: guests 2, alive ", stats[0], StringComparison.Ordinal);
            string[] runs = transcript.Where(l => l.Contains(" run: ", StringComparison.Ordinal)).ToArray();
            int notifies = runs.Count(l => l.Contains(" run: notify ", StringComparison.Ordinal));
            int breaks = runs.Count(l => l.Contains(" run: break ", StringComparison.Ordinal));
            Assert.StartsWith($"stats: runs {runs.Length} ({notifies} notify, {breaks} break, {runs.Length - notifies - breaks} other), ", stats[1], StringComparison.Ordinal);
            int breakRequests = transcript.Count(l => l.Contains(" break 1 from", StringComparison.Ordinal));
            int irqs = transcript.Count(l => l.Contains(" irq ", StringComparison.Ordinal));
            Assert.Equal($"stats: break 1 {breakRequests}, break 0 {transcript.Count(l => l.EndsWith(" break 0", StringComparison.Ordinal))}, irq {irqs}", stats[3]);

            // The guest read its boot_params, its rings and the 2 KiB it read back; it wrote its rings and the 2 KiB it wrote.
            string[] reads = stats[4].Split(' ');
            string[] writes = stats[5].Split(' ');
            Assert.True(long.Parse(reads[2], CultureInfo.InvariantCulture) > 0 && long.Parse(reads[4], CultureInfo.InvariantCulture) >= 2048 + 2048, stats[4]);
            Assert.True(long.Parse(writes[4], CultureInfo.InvariantCulture) >= 2048, stats[5]);
            Assert.StartsWith("stats: guest halted ", stats[6], StringComparison.Ordinal);
            Assert.StartsWith($"stats: guest in notify {notifies} times, ", stats[7], StringComparison.Ordinal);
            Assert.StartsWith("stats: guest program ", stats[8], StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    /// <summary>Runs <c>dotnet lguestsim.dll ARGS</c> with its standard input at end of file.</summary>
    private static (int Exit, string Stdout, string Stderr) Launcher(params string[] args) =>
        LauncherProcess.Run(["dotnet", LauncherProcess.Dll, .. args]);
}
