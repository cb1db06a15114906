using LguestSim.Tests.Host.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// `sim --tunnet` as a user gets it wrong: a malformed value is one line and exit 1 before
/// anything is created; a host failure while setting the tap up is one line and exit 1.
/// </summary>
public sealed class TunnetOptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-net-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("10.0.0", "3 component(s), not 4")]
    [InlineData("10.0.0.256", "octet 256 is over 255")]
    [InlineData("1.2.3.4.5", "5 component(s), not 4")]
    [InlineData("a.b.c.d", "'a' is not a decimal octet")]
    [InlineData("1..2.3", "'' is not a decimal octet")]
    [InlineData("1.2.3.1000", "'1000' is not a decimal octet")]
    [InlineData(" 1.2.3.4", "' 1' is not a decimal octet")]
    [InlineData("", "empty")]
    [InlineData("bridge:", "the bridge name is empty")]
    [InlineData("bridge:abcdefghijklmnop", "the bridge name is longer than 15 bytes")]
    [InlineData("bridge:a/b", "the bridge name is not a valid interface name")]
    [InlineData("bridge:a b", "the bridge name is not a valid interface name")]
    public void BadValue_OneLine_Exit1_NothingCreated(string value, string why)
    {
        string pcap = Path.Combine(_dir, "never.pcap");
        CliProcess.Result r = RunContained("sim", "--scenario", Fixture("net-ping"), "--pcap", pcap, "--tunnet", value);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("lguestsim: bad --tunnet value '", line, StringComparison.Ordinal);
        Assert.Contains(why, line, StringComparison.Ordinal);
        Assert.False(File.Exists(pcap), "the pcap file was created before the bad value was refused");
    }

    [Theory]
    [InlineData("--tunnet")]
    [InlineData("--tunnet=")]
    public void TunnetWithoutValue_OneLine_Exit1(string option)
    {
        CliProcess.Result r = RunContained("sim", "--scenario", Fixture("net-ping"), option);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("--tunnet", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreTunnetsThanNetDevices_OneLine_Exit1()
    {
        CliProcess.Result r = RunContained("sim", "--scenario", Fixture("net-ping"), "--tunnet=169.254.30.1", "--tunnet=169.254.31.1");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("lguestsim: --tunnet given 2 time(s) but scenario net-ping has 1 net device(s)\n", r.Stderr);
    }

    [NetFact]
    public void NoSuchBridge_HostError_OneLine_Exit1()
    {
        using NetNamespace ns = NetNamespace.Create();
        CliProcess.Result r = ns.Lguestsim("sim", "--scenario", Fixture("net-ping"), "--tunnet=bridge:lgnosuch");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Matches(@"^lguestsim: cannot add tap\d+ to bridge lgnosuch: No such device$", line);
        Assert.DoesNotContain("tap", ns.Ip("link", "show"), StringComparison.Ordinal);
    }

    [NetFact]
    public void AddressTheKernelRefuses_HostError_OneLine_Exit1()
    {
        using NetNamespace ns = NetNamespace.Create();
        CliProcess.Result r = ns.Lguestsim("sim", "--scenario", Fixture("net-ping"), "--tunnet=224.0.0.1");
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Matches(@"^lguestsim: cannot set the address of tap\d+ to 224\.0\.0\.1: Invalid argument$", line);
    }

    [NetFact]
    public void HostVerbOnRealTap_ScenarioCheckFails_Exit1()
    {
        string scenario = NetTestText.WriteScenario(_dir, "host-verb", "net\nboot\nhost.net.send len=60\npoweroff\n");
        using NetNamespace ns = NetNamespace.Create();
        CliProcess.Result r = ns.Lguestsim("sim", "--scenario", scenario, "--tunnet=169.254.24.1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("host.net.send needs the in-memory tap, but the net device is on a real tap", r.Stdout, StringComparison.Ordinal);
    }

    private static string Fixture(string name) => Path.Combine(NetTestText.RepoRoot, "fixtures", "scenarios", name + ".scenario");

    /// <summary>
    /// Runs lguestsim in a namespace of its own when this machine can make one, so that even
    /// a value wrongly accepted could never touch the host's network; else (no root, where
    /// no tap can be created anyway) directly.
    /// </summary>
    private static CliProcess.Result RunContained(params string[] args)
    {
        if ((Requires.Tun() ?? Requires.Ip()) is not null)
        {
            return CliProcess.Run(args);
        }

        using NetNamespace ns = NetNamespace.Create();
        return ns.Lguestsim(args);
    }
}
