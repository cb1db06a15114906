using LguestSim.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// `sim --pcap` over the in-memory tap (no root needed): the capture is a valid classic pcap
/// holding the same conversation, frame for frame, as the real kernel gives in
/// <see cref="TapPingTests"/>, and it is the same bytes every run (synthetic timestamps).
/// </summary>
public sealed class PcapTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-pcap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void InMemoryPing_PcapParses_HoldsConversationInOrder_SameBytesEveryRun()
    {
        string scenario = Path.Combine(NetTestText.RepoRoot, "fixtures", "scenarios", "net-ping.scenario");
        string first = Path.Combine(_dir, "first.pcap");
        string second = Path.Combine(_dir, "second.pcap");
        CliProcess.Result a = CliProcess.Run("sim", "--scenario", scenario, "--pcap", first);
        CliProcess.Result b = CliProcess.Run("sim", "--scenario", scenario, "--pcap", second);
        Assert.True(a.ExitCode == 0, a.Stdout + a.Stderr);
        Assert.Equal(0, b.ExitCode);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));

        // The transcript never mentions the capture or any time; only the summary after "---" does.
        string transcript = a.Stdout[..a.Stdout.IndexOf("\n---\n", StringComparison.Ordinal)];
        Assert.DoesNotContain("pcap", transcript, StringComparison.Ordinal);

        PcapFile capture = PcapFile.Read(first);
        Assert.Equal(1u, capture.LinkType);
        Assert.Equal(65535u, capture.SnapLength);
        TapPingTests.AssertOnlyLinkLocalArpAndIcmp(capture);

        // The fixture: probe, ping (the host ARPs for the guest), ARP, two pings (seq 2, 3),
        // then three pings back to back (seq 4 to 6).
        const string Host = "169.254.1.1";
        const string Guest = "169.254.1.2";
        string[] expected =
        [
            .. TapPingTests.ConversationFrames(Host, Guest).Take(12),
            $"icmp echo request {Guest} > {Host} seq=4",
            $"icmp echo request {Guest} > {Host} seq=5",
            $"icmp echo request {Guest} > {Host} seq=6",
            $"icmp echo reply {Host} > {Guest} seq=4",
            $"icmp echo reply {Host} > {Guest} seq=5",
            $"icmp echo reply {Host} > {Guest} seq=6",
        ];
        Assert.Equal(expected, capture.Frames.Select(PcapFile.Describe).ToArray());
        string? tool = PcapTools.CheckReadable(first, arp: 6, requests: 6, replies: 6);
        output.WriteLine(tool is null ? "neither tcpdump nor tshark is installed: the capture was checked by the test's own reader only" : $"{tool} read the capture");
    }
}
