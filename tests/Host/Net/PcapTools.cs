using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>Reads a capture back with tcpdump or tshark, where one is installed.</summary>
public static class PcapTools
{
    /// <summary>
    /// Has tcpdump (or else tshark) read <paramref name="path"/>: it must succeed and show
    /// <paramref name="arp"/> ARP frames and <paramref name="requests"/> / <paramref name="replies"/>
    /// ICMP echo requests and replies. Returns what it ran, or null when neither is installed.
    /// </summary>
    public static string? CheckReadable(string path, int arp, int requests, int replies)
    {
        if (Requires.OnPath("tcpdump"))
        {
            Command.Result r = Command.Run("tcpdump", "-r", path, "-nn");
            Assert.True(r.ExitCode == 0, $"tcpdump -r failed: {r.Stderr}");
            string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(arp, lines.Count(l => l.Contains(" ARP, ", StringComparison.Ordinal)));
            Assert.Equal(requests, lines.Count(l => l.Contains("ICMP echo request", StringComparison.Ordinal)));
            Assert.Equal(replies, lines.Count(l => l.Contains("ICMP echo reply", StringComparison.Ordinal)));
            return "tcpdump";
        }

        if (Requires.OnPath("tshark"))
        {
            Command.Result r = Command.Run("tshark", "-r", path, "-n");
            Assert.True(r.ExitCode == 0, $"tshark -r failed: {r.Stderr}");
            string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(arp, lines.Count(l => l.Contains(" ARP ", StringComparison.Ordinal)));
            Assert.Equal(requests, lines.Count(l => l.Contains("Echo (ping) request", StringComparison.Ordinal)));
            Assert.Equal(replies, lines.Count(l => l.Contains("Echo (ping) reply", StringComparison.Ordinal)));
            return "tshark";
        }

        return null;
    }
}
