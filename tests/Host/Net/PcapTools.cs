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
        // Each reader's name, its "numeric output" flag, and how it prints the three kinds of frame.
        (string Tool, string Numeric, string Arp, string Request, string Reply)[] readers =
        [
            ("tcpdump", "-nn", " ARP, ", "ICMP echo request", "ICMP echo reply"),
            ("tshark", "-n", " ARP ", "Echo (ping) request", "Echo (ping) reply"),
        ];
        foreach (var reader in readers)
        {
            if (!Requires.OnPath(reader.Tool))
            {
                continue;
            }

            Command.Result r = Command.Run(reader.Tool, "-r", path, reader.Numeric);
            Assert.True(r.ExitCode == 0, $"{reader.Tool} -r failed: {r.Stderr}");
            string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(arp, lines.Count(l => l.Contains(reader.Arp, StringComparison.Ordinal)));
            Assert.Equal(requests, lines.Count(l => l.Contains(reader.Request, StringComparison.Ordinal)));
            Assert.Equal(replies, lines.Count(l => l.Contains(reader.Reply, StringComparison.Ordinal)));
            return reader.Tool;
        }

        return null;
    }
}
