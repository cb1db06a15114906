using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// No receive buffer, with the kernel as the sender (issue 6, spec §5.2 receive step 2): the
/// guest holds back its refills and sends 80 pings back to back; the kernel's 80 replies
/// wait in the tap. The Launcher fills the 63 or 64 buffers the guest has, warns once,
/// and stops listening; after the guest's refill kick the waiting replies arrive, each
/// exactly once and intact (the guest checks every one against its request).
/// </summary>
public sealed class TapNoBufferTests : IDisposable
{
    private const string Warning = "launcher: warning: net: no receive buffer available";
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-net-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [NetFact]
    public void KernelFramesWhileRingDry_WarnStopListening_DeliveredAfterRefillKick()
    {
        const string Host = "169.254.23.1";
        const string Guest = "169.254.23.2";
        string scenario = NetTestText.WriteScenario(_dir, "burst", $"""
            net
            boot
            net.arp {Host} from={Guest}
            net.rx-hold
            net.ping {Host} from={Guest} count=80 nowait
            net.rx-drain
            net.rx-refill
            net.ping-wait
            poweroff

            """);
        string name;
        CliProcess.Result r;
        using (NetNamespace ns = NetNamespace.Create())
        {
            name = ns.Name;
            r = ns.Lguestsim("sim", "--scenario", scenario, $"--tunnet={Host}");
        }

        Assert.False(NetNamespace.Exists(name), $"namespace {name} left behind");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        string[] lines = r.Stdout.Split('\n');

        // The warning, once, while the ring is dry: after the drain began, before the refill.
        Assert.Single(lines, l => l == Warning);
        int drain = NetTestText.LineIndex(r.Stdout, "guest: net rx drain:");
        int warning = Array.IndexOf(lines, Warning);
        int refill = NetTestText.LineIndex(r.Stdout, "guest: net rx refill:");
        Assert.True(drain < warning && warning < refill, $"drain {drain}, warning {warning}, refill {refill}");

        // Listening stopped: nothing reached the ring between the warning and the refill kick.
        Assert.DoesNotContain(lines[(warning + 1)..refill], l => l.StartsWith("launcher: irq 1 (net vq0)", StringComparison.Ordinal));

        // It resumed: the replies that waited in the kernel arrived after the refill, and every
        // one of the 80 arrived exactly once.
        Assert.Contains(lines[refill..], l => l.StartsWith("guest: net rx head=", StringComparison.Ordinal));
        for (int seq = 1; seq <= 80; seq++)
        {
            Assert.Single(lines, l => l == $"guest: ip icmp echo reply {Host} > {Guest} id=0x4c47 seq={seq} len=56 ttl=64");
        }

        NetTestText.AssertLinesInOrder(r.Stdout, "guest: ip waiting for 80 echo replies", "guest: ip every echo request answered", "end: guest died: CRASH: Power down");
    }
}
