using LguestSim.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// The Launcher over a real tap with the host kernel on the other end (issue 6): inside a
/// namespace of its own, the simulated guest ARPs for the host side and pings it, and the
/// kernel answers; the kernel also asks the guest for its MAC, and the guest answers.
/// </summary>
public sealed class TapPingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-net-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A probe first (the kernel answers but learns nothing), so the first ping makes the
    /// kernel ARP for the guest; then a plain ARP and three pings, each awaited.
    /// </summary>
    internal static string PingScenario(string host, string guest) => $"""
        net
        boot
        net.arp {host} from=0.0.0.0
        net.ping {host} from={guest}
        net.arp {host} from={guest}
        net.ping {host} from={guest} count=3
        poweroff

        """;

    /// <summary>The transcript lines that show the whole conversation, in order.</summary>
    internal static string[] ConversationLines(string host, string guest, string hostMac, string guestMac)
    {
        var lines = new List<string>
        {
            $"guest: ip arp request who-has {host} tell 0.0.0.0 (probe)",
            $"guest: ip arp reply {host} is-at {hostMac}",
            $"guest: ip icmp echo request {guest} > {host} id=0x4c47 seq=1 len=56",
            $"guest: ip arp request who-has {guest} tell {host} from {hostMac}",
            $"guest: ip arp reply {guest} is-at {guestMac} to {host}",
            $"guest: ip icmp echo reply {host} > {guest} id=0x4c47 seq=1 len=56 ttl=64",
            $"guest: ip arp request who-has {host} tell {guest}",
            $"guest: ip arp reply {host} is-at {hostMac}",
        };
        for (int seq = 2; seq <= 4; seq++)
        {
            lines.Add($"guest: ip icmp echo request {guest} > {host} id=0x4c47 seq={seq} len=56");
            lines.Add($"guest: ip icmp echo reply {host} > {guest} id=0x4c47 seq={seq} len=56 ttl=64");
        }

        lines.Add("end: guest died: CRASH: Power down");
        return lines.ToArray();
    }

    /// <summary>The same conversation as the capture shows it, frame by frame.</summary>
    internal static string[] ConversationFrames(string host, string guest)
    {
        var frames = new List<string>
        {
            $"arp request {host} tell 0.0.0.0",
            $"arp reply {host}",
            $"icmp echo request {guest} > {host} seq=1",
            $"arp request {guest} tell {host}",
            $"arp reply {guest}",
            $"icmp echo reply {host} > {guest} seq=1",
            $"arp request {host} tell {guest}",
            $"arp reply {host}",
        };
        for (int seq = 2; seq <= 4; seq++)
        {
            frames.Add($"icmp echo request {guest} > {host} seq={seq}");
            frames.Add($"icmp echo reply {host} > {guest} seq={seq}");
        }

        return frames.ToArray();
    }

    /// <summary>Every frame is ARP or ICMP with good checksums and only link-local addresses.</summary>
    internal static void AssertOnlyLinkLocalArpAndIcmp(PcapFile capture)
    {
        foreach (byte[] frame in capture.Frames)
        {
            string what = PcapFile.Describe(frame);
            Assert.False(what.StartsWith("other", StringComparison.Ordinal) || what.StartsWith("bad", StringComparison.Ordinal), what);
            foreach (byte[] a in PcapFile.Addresses(frame))
            {
                bool linkLocal = a[0] == 169 && a[1] == 254;
                bool unspecified = a.All(b => b == 0);
                Assert.True(linkLocal || unspecified, $"address {string.Join('.', a)} outside 169.254.0.0/16 in: {what}");
            }
        }
    }

    [NetFact]
    public void Ping_TapWithAddress_KernelAnswersArpAndEcho_TranscriptAndPcapShowBoth()
    {
        const string Host = "169.254.21.1";
        const string Guest = "169.254.21.2";
        string scenario = NetTestText.WriteScenario(_dir, "ping", PingScenario(Host, Guest));
        string pcap = Path.Combine(_dir, "ping.pcap");
        string name;
        CliProcess.Result r;
        using (NetNamespace ns = NetNamespace.Create())
        {
            name = ns.Name;
            r = ns.Lguestsim("sim", "--scenario", scenario, $"--tunnet={Host}", "--pcap", pcap);
        }

        Assert.False(NetNamespace.Exists(name), $"namespace {name} left behind");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        Assert.Equal(string.Empty, r.Stderr);
        (string tap, string hostMac, string guestMac) = NetTestText.TapLine(r.Stdout);
        Assert.StartsWith("tap", tap, StringComparison.Ordinal);
        Assert.NotEqual(hostMac, guestMac);
        Assert.Contains($"guest: net mac {guestMac}, 64 receive buffers", r.Stdout, StringComparison.Ordinal);
        NetTestText.AssertLinesInOrder(r.Stdout, ConversationLines(Host, Guest, hostMac, guestMac));

        // The capture: classic pcap, Ethernet, and exactly the conversation, in order.
        PcapFile capture = PcapFile.Read(pcap);
        Assert.Equal(1u, capture.LinkType);
        Assert.Equal(65535u, capture.SnapLength);
        AssertOnlyLinkLocalArpAndIcmp(capture);
        Assert.Equal(ConversationFrames(Host, Guest), capture.Frames.Select(PcapFile.Describe).ToArray());
        Assert.Contains($"pcap: {capture.Frames.Count} frames written to {pcap}", r.Stdout, StringComparison.Ordinal);
        string? tool = PcapTools.CheckReadable(pcap, arp: 6, requests: 4, replies: 4);
        output.WriteLine(tool is null ? "neither tcpdump nor tshark is installed: the capture was checked by the test's own reader only" : $"{tool} read the capture");
    }

    [NetFact]
    public void RuntFrame_KernelRefusesIt_WarningAndTheLauncherCarriesOn()
    {
        const string Host = "169.254.25.1";
        string scenario = NetTestText.WriteScenario(_dir, "runt", $"""
            net
            boot
            ring.desc net 1 0 addr=0x100000 len=10 flags=1 next=1
            ring.desc net 1 1 addr=0x100100 len=4 flags=0
            ring.publish net 1 0
            ring.kick net 1
            net.ping {Host} from=169.254.25.2
            poweroff

            """);
        using NetNamespace ns = NetNamespace.Create();
        CliProcess.Result r = ns.Lguestsim("sim", "--scenario", scenario, $"--tunnet={Host}");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        NetTestText.AssertLinesInOrder(
            r.Stdout,
            "guest: raw net vq1 kick",
            "launcher: warning: net: tap write failed (Invalid argument); frame dropped",
            $"guest: ip icmp echo reply {Host} > 169.254.25.2 id=0x4c47 seq=1 len=56 ttl=64");
    }

    [NetFact]
    public void Ping_TapOnBridge_TapAttachedInKernelView_KernelAnswersThroughBridge()
    {
        const string Host = "169.254.22.1";
        const string Guest = "169.254.22.2";
        const string Bridge = "lgbr22";
        string scenario = NetTestText.WriteScenario(_dir, "ping", PingScenario(Host, Guest));
        string name;
        CliProcess.Result r;
        string links;
        using (NetNamespace ns = NetNamespace.Create())
        {
            name = ns.Name;
            ns.Ip("link", "add", Bridge, "type", "bridge");
            using NetNamespace.LinkMonitor monitor = ns.MonitorLinks();

            // The bridge's own changes show that the monitor is listening before the tap exists.
            ns.Ip("addr", "add", $"{Host}/16", "dev", Bridge);
            ns.Ip("link", "set", Bridge, "up");
            Assert.True(monitor.WaitFor(Bridge, TimeSpan.FromSeconds(10)), "ip monitor link printed nothing");
            r = ns.Lguestsim("sim", "--scenario", scenario, $"--tunnet=bridge:{Bridge}");
            links = monitor.Stop();

            // Once the Launcher is gone its tap is gone too, and the bridge has no port left.
            Assert.Equal(string.Empty, ns.Ip("link", "show", "master", Bridge).Trim());
        }

        Assert.False(NetNamespace.Exists(name), $"namespace {name} left behind");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        (string tap, string hostMac, string guestMac) = NetTestText.TapLine(r.Stdout);
        Assert.Contains($"tap: {tap} (on bridge {Bridge})", r.Stdout, StringComparison.Ordinal);

        // The kernel's own notification: the tap became a port of the bridge while it was up.
        output.WriteLine(links);
        Assert.Contains(
            links.Split('\n'),
            l => l.Contains($" {tap}: ", StringComparison.Ordinal) && l.Contains($" master {Bridge} ", StringComparison.Ordinal) && l.Contains(",UP,", StringComparison.Ordinal));

        // The bridge answered with its own MAC (commonly the tap's, which it takes while the
        // tap is its only port); the guest's MAC is never the tap's.
        string bridgeMac = r.Stdout.Split('\n').First(l => l.StartsWith($"guest: ip arp reply {Host} is-at ", StringComparison.Ordinal)).Split(' ')[^1];
        Assert.NotEqual(guestMac, bridgeMac);
        Assert.NotEqual(guestMac, hostMac);
        NetTestText.AssertLinesInOrder(r.Stdout, ConversationLines(Host, Guest, bridgeMac, guestMac));
    }

    /// <summary>
    /// Why the guest does not share the tap's MAC (README, "Differences from lguest.c"): a peer
    /// on another port of the bridge — a veth into a second namespace — answers the guest's
    /// ARP and ping. With the tap's own MAC, the bridge would keep the peer's replies for the
    /// host as frames to one of its local addresses.
    /// </summary>
    [NetFact]
    public void Ping_PeerOnAnotherBridgePort_ReachesTheGuest()
    {
        const string Peer = "169.254.26.3";
        const string Guest = "169.254.26.2";
        const string Bridge = "lgbr26";
        string scenario = NetTestText.WriteScenario(_dir, "peer", $"""
            net
            boot
            net.arp {Peer} from={Guest}
            net.ping {Peer} from={Guest} count=2
            poweroff

            """);
        string[] names;
        CliProcess.Result r;
        using (NetNamespace ns = NetNamespace.Create())
        using (NetNamespace peer = NetNamespace.Create())
        {
            names = [ns.Name, peer.Name];
            ns.Ip("link", "add", Bridge, "type", "bridge");
            ns.Ip("link", "add", "lgv26a", "type", "veth", "peer", "name", "lgv26b", "netns", peer.Name);
            ns.Ip("link", "set", "lgv26a", "master", Bridge);
            ns.Ip("link", "set", "lgv26a", "up");
            ns.Ip("link", "set", Bridge, "up");
            peer.Ip("addr", "add", $"{Peer}/16", "dev", "lgv26b");
            peer.Ip("link", "set", "lgv26b", "up");
            r = ns.Lguestsim("sim", "--scenario", scenario, $"--tunnet=bridge:{Bridge}");
        }

        Assert.All(names, n => Assert.False(NetNamespace.Exists(n), $"namespace {n} left behind"));
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        (_, string tapMac, string guestMac) = NetTestText.TapLine(r.Stdout);
        string peerMac = r.Stdout.Split('\n').First(l => l.StartsWith($"guest: ip arp reply {Peer} is-at ", StringComparison.Ordinal)).Split(' ')[^1];
        Assert.NotEqual(tapMac, peerMac);
        Assert.NotEqual(guestMac, peerMac);
        NetTestText.AssertLinesInOrder(
            r.Stdout,
            $"guest: ip arp request who-has {Peer} tell {Guest}",
            $"guest: ip arp reply {Peer} is-at {peerMac}",
            $"guest: ip icmp echo request {Guest} > {Peer} id=0x4c47 seq=1 len=56",
            $"guest: ip icmp echo reply {Peer} > {Guest} id=0x4c47 seq=1 len=56 ttl=64",
            $"guest: ip icmp echo request {Guest} > {Peer} id=0x4c47 seq=2 len=56",
            $"guest: ip icmp echo reply {Peer} > {Guest} id=0x4c47 seq=2 len=56 ttl=64",
            "end: guest died: CRASH: Power down");
    }
}
