using LguestSim.Tests.Host.Net;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// <c>lguestsim run --guest-errors=isolate</c> on the emulated device: the fault isolates the
/// device (one line on stderr naming the device and the fault code) and the guest runs on to
/// its power-off, where <c>exit</c> would have ended the run at the fault. Only scenarios whose
/// guest does not wait on the isolated device afterwards: the emulated guest is not told about
/// isolations, so such a wait lasts until its halt timeout, as a real guest's would for ever.
/// </summary>
public sealed class RealModeIsolateTests
{
    private static readonly string s_scenarios = Path.Combine(NetTestText.RepoRoot, "fixtures", "scenarios");

    [FuseTheory]
    [InlineData("fault-console-output-writable", "console", "ConsoleOutputWritable")]
    [InlineData("fault-net-tx-writable", "net", "NetTxWritable")]
    [InlineData("fault-net-tx-header-size", "net", "BadTypedBuffer")]
    public void IsolateMode_TheFaultIsolatesTheDevice_AndTheGuestPowersOff(string scenario, string device, string fault)
    {
        RealModeRun real = RealModeRun.Run(Path.Combine(s_scenarios, scenario + ".scenario"), "--guest-errors=isolate");
        string context = $"\n{real.CommandLine}\nLauncher stderr:\n{real.Stderr}lgdev stderr:\n{real.ServerStderr}";
        Assert.False(real.TimedOut, "timed out" + context);
        string[] lines = real.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 2, "stderr" + context);
        Assert.StartsWith($"lguestsim: {device} isolated: guest fault {fault}: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("lguestsim: CRASH: Power down", lines[1]);
        Assert.Equal(1, real.ExitCode);
        Assert.Contains("guest: power off \"Power down\"", real.Transcript, StringComparison.Ordinal);
    }

    [FuseFact]
    public void ExitMode_TheSameFault_EndsTheRun()
    {
        RealModeRun real = RealModeRun.Run(Path.Combine(s_scenarios, "fault-console-output-writable.scenario"));
        Assert.StartsWith("lguestsim: guest fault ConsoleOutputWritable: ", real.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, real.ExitCode);
        Assert.DoesNotContain("guest: power off", real.Transcript, StringComparison.Ordinal);
    }
}
