using LguestSim.Tests.Host.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// `lguestsim run --tunnet` refused: a malformed value before anything exists, and a device
/// that is not lguest after the tap was made, which must then be gone again. Always inside a
/// network namespace the test owns.
/// </summary>
public sealed class RunTunnetTests
{
    private static readonly string s_kernel = Path.Combine(NetTestText.RepoRoot, "fixtures", "kernels", "vmlinux.elf");

    [NetFact]
    public void BadTunnet_OneLine_Exit1_NoTap()
    {
        using NetNamespace ns = NetNamespace.Create();
        CliProcess.Result r = ns.Lguestsim("run", "--device=/dev/null", "--tunnet=169.254.1", "64", s_kernel);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("lguestsim: bad --tunnet value '169.254.1': 3 component(s), not 4 (expected an IPv4 address a.b.c.d or bridge:NAME)", line);
        Assert.DoesNotContain("tap", ns.Ip("link", "show"), StringComparison.Ordinal);
    }

    [NetFact]
    public void TapMade_ThenDeviceNotLguest_OneLine_Exit1_TapGone()
    {
        using NetNamespace ns = NetNamespace.Create();
        using NetNamespace.LinkMonitor links = ns.MonitorLinks();
        CliProcess.Result r = ns.Lguestsim("run", "--device=/dev/null", "--tunnet=169.254.41.1", "64", s_kernel);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("lguestsim: /dev/null: not an lguest device (LHREQ_INITIALIZE returned 20, not 16)", line);

        // The tap really existed (the kernel announced it), and is gone with the process.
        Assert.True(links.WaitFor("tap0", TimeSpan.FromSeconds(5)), links.Output);
        Assert.DoesNotContain("tap", ns.Ip("link", "show"), StringComparison.Ordinal);
    }

    [NetFact]
    public void NoDevice_NoTapIsEverMade_OneLine_Exit1()
    {
        // The device is opened before any tap, so a missing one creates nothing, not even for a moment.
        using NetNamespace ns = NetNamespace.Create();
        using NetNamespace.LinkMonitor links = ns.MonitorLinks();
        CliProcess.Result r = ns.Lguestsim("run", "--device=/nonexistent/lguest", "--tunnet=169.254.42.1", "64", s_kernel);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("lguestsim: cannot open /nonexistent/lguest: No such file or directory\n", r.Stderr);
        Thread.Sleep(300);
        Assert.DoesNotContain("tap", links.Stop(), StringComparison.Ordinal);
    }
}
