using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LguestSim.Backends.Simulated.Transcript;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// What the differential compares of a run: the device page after set-up, every line the
/// scenario's guest writes ("guest:" and its own "host:" lines), and the ending; plus the bytes
/// the guest wrote to its console. Built from sim's transcript on one side and from lgdev's
/// transcript with the real Launcher's stdout, stderr and exit status on the other.
/// </summary>
public static partial class TranscriptProjection
{
    /// <summary>
    /// The "host:" lines written by the scenario's guest itself (its host-side steps), present in
    /// both transcripts. Sim's other "host:" lines (console read/write, "console input closed",
    /// the in-memory IP host) are its simulated Launcher's host ports; the real Launcher's host
    /// ends are the kernel's and write no transcript, so those are not compared.
    /// </summary>
    private static readonly string[] s_scenarioHostLines =
    [
        "host: type ", "host: console input at end of file", "host: tap send ", "host: tap got ", "host: the next tap read ",
    ];

    /// <summary>The comparable lines of a transcript (sim's or lgdev's), without the ending.</summary>
    public static List<string> Lines(string transcript)
    {
        var lines = new List<string>();
        string[] all = transcript.Split('\n');
        for (int i = 0; i < all.Length; i++)
        {
            string l = all[i];
            if (l.StartsWith("device page at ", StringComparison.Ordinal))
            {
                lines.Add(l);
                while (i + 1 < all.Length && all[i + 1].StartsWith("  ", StringComparison.Ordinal))
                {
                    lines.Add(all[++i]);
                }
            }
            else if (l.StartsWith("guest:", StringComparison.Ordinal) || s_scenarioHostLines.Any(p => l.StartsWith(p, StringComparison.Ordinal)))
            {
                lines.Add(l);
            }
        }

        return lines;
    }

    /// <summary>The bytes of sim's <c>early&gt;</c> and <c>console&gt;</c> lines, in order: what the real Launcher must write to stdout.</summary>
    public static byte[] ConsoleBytes(string simTranscript)
    {
        var bytes = new List<byte>();
        foreach (string l in simTranscript.Split('\n'))
        {
            if (l.StartsWith("early> ", StringComparison.Ordinal) || l.StartsWith("console> ", StringComparison.Ordinal))
            {
                bytes.AddRange(Unquote(l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]));
            }
        }

        return [.. bytes];
    }

    /// <summary>The inverse of <see cref="Transcript.Quote"/>.</summary>
    public static byte[] Unquote(string quoted)
    {
        if (quoted.Length < 2 || quoted[0] != '"' || quoted[^1] != '"')
        {
            throw new FormatException($"not a quoted string: {quoted}");
        }

        var bytes = new List<byte>();
        string s = quoted[1..^1];
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\')
            {
                bytes.Add((byte)s[i]);
                continue;
            }

            char c = s[++i];
            switch (c)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'x':
                    bytes.Add(byte.Parse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default: bytes.Add((byte)c); break;
            }
        }

        return [.. bytes];
    }

    /// <summary>
    /// What the real Launcher must end with, from sim's <c>end:</c> and <c>exit status</c> lines:
    /// its last stderr line and its exit status. The messages are the same (lguest.c prints the
    /// reason with errx); the status differs in one place only: sim reports a clean power-off as
    /// status 0, where lguest (and so <c>lguestsim run</c>) exits 1 for every death of the guest.
    /// </summary>
    public static string ExpectedEnding(string simTranscript)
    {
        string end = simTranscript.Split('\n').Single(l => l.StartsWith("end: ", StringComparison.Ordinal));
        int status = int.Parse(simTranscript.Split('\n').Single(l => l.StartsWith("exit status ", StringComparison.Ordinal))["exit status ".Length..], CultureInfo.InvariantCulture);
        string line = end switch
        {
            _ when end.StartsWith("end: guest died: ", StringComparison.Ordinal) => "lguestsim: " + end["end: guest died: ".Length..],
            _ when end.StartsWith("end: guest fault ", StringComparison.Ordinal) => "lguestsim: " + end["end: ".Length..],
            _ when end.StartsWith("end: host error: ", StringComparison.Ordinal) => "lguestsim: " + end["end: host error: ".Length..],
            _ => throw new InvalidOperationException($"no real-mode ending for sim's {end}"),
        };
        if (end == "end: guest died: CRASH: Power down" && status == 0)
        {
            status = 1;
        }

        return Ending(line, status);
    }

    /// <summary>The real Launcher's ending: its last stderr line and exit status.</summary>
    public static string ActualEnding(string stderr, int exitCode) =>
        Ending(stderr.TrimEnd('\n').Split('\n')[^1], exitCode);

    /// <summary>
    /// Replaces, in lgdev's lines, each guest MAC the real taps offered by the scenario's MAC for
    /// that device, in the text and in the device page's bytes. A real tap offers the guest a MAC
    /// derived from the tap's own address (TunTap.GuestMacFor), not the scenario's <c>mac=</c>:
    /// that is the one real difference in the device page. The MACs are paired by net device,
    /// read from each side's device page (the config of each type-1 descriptor).
    /// </summary>
    public static List<string> NormaliseMacs(List<string> real, List<string> sim)
    {
        var result = new List<string>(real);
        if (DevicePage(real) is not { } realPage || DevicePage(sim) is not { } simPage)
        {
            return result;
        }

        List<byte[]> realMacs = NetMacs(realPage.Bytes);
        List<byte[]> simMacs = NetMacs(simPage.Bytes);
        byte[] page = realPage.Bytes;
        for (int m = 0; m < Math.Min(realMacs.Count, simMacs.Count); m++)
        {
            string from = FormatMac(realMacs[m]);
            string to = FormatMac(simMacs[m]);
            for (int i = 0; i < result.Count; i++)
            {
                result[i] = result[i].Replace(from, to, StringComparison.Ordinal);
            }

            int at = page.AsSpan().IndexOf(realMacs[m]);
            simMacs[m].CopyTo(page, at);
        }

        string[] dump = HexDump.Format(page, realPage.Address).TrimEnd('\n').Split('\n').Select(l => "  " + l).ToArray();
        result.RemoveRange(realPage.Head + 1, realPage.End - realPage.Head - 1);
        result.InsertRange(realPage.Head + 1, dump);
        return result;
    }

    /// <summary>
    /// A frame's <c>data=</c> digest covers its whole bytes, the guest's MAC among them, so a
    /// frame to or from the guest has a different digest in real mode. On lines naming one of
    /// the guest's MACs it is masked, on both sides; the frame's length, addresses and type are
    /// still compared, and its payload by the guest's own <c>expect=</c> checks.
    /// </summary>
    public static List<string> MaskGuestFrameDigests(List<string> lines)
    {
        List<string> macs = DevicePage(lines) is { } page ? NetMacs(page.Bytes).Select(FormatMac).ToList() : [];
        return lines.Select(l => macs.Any(m => l.Contains(m, StringComparison.Ordinal)) ? DigestPattern().Replace(l, "data=(covers the guest MAC)") : l).ToList();
    }

    private static string Ending(string line, int status) => $"{line} / exit status {status.ToString(CultureInfo.InvariantCulture)}";

    private static string FormatMac(byte[] mac) => string.Join(':', mac.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>
    /// The MAC in each net descriptor of a device page (spec: lguest_device_desc is type,
    /// num_vq, feature_len, config_len, status; then num_vq 8-byte vq configs, two feature
    /// bitmaps of feature_len bytes, and config_len bytes of config, a net's starting with its MAC).
    /// </summary>
    private static List<byte[]> NetMacs(byte[] page)
    {
        var macs = new List<byte[]>();
        int at = 0;
        while (at + 5 <= page.Length && page[at] != 0)
        {
            int vqs = page[at + 1], features = page[at + 2], config = page[at + 3];
            int configAt = at + 5 + (vqs * 8) + (features * 2);
            if (page[at] == 1 && config >= 6 && configAt + 6 <= page.Length)
            {
                macs.Add(page[configAt..(configAt + 6)]);
            }

            at = configAt + config;
        }

        return macs;
    }

    /// <summary>The device page block of a projection, parsed back to its bytes (folded "*" rows are zeros).</summary>
    private static (int Head, int End, ulong Address, byte[] Bytes)? DevicePage(List<string> lines)
    {
        int head = lines.FindIndex(l => l.StartsWith("device page at ", StringComparison.Ordinal));
        if (head < 0)
        {
            return null;
        }

        int end = head + 1;
        while (end < lines.Count && lines[end].StartsWith("  ", StringComparison.Ordinal))
        {
            end++;
        }

        ulong pageAddress = ulong.Parse(lines[head]["device page at 0x".Length..].Split(',')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        byte[] page = new byte[4096];
        for (int i = head + 1; i < end; i++)
        {
            string[] words = lines[i].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words[0] == "*")
            {
                continue;
            }

            int offset = (int)(ulong.Parse(words[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) - pageAddress);
            for (int b = 1; b < words.Length; b++)
            {
                page[offset + b - 1] = byte.Parse(words[b], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        return (head, end, pageAddress, page);
    }

    [GeneratedRegex("data=[0-9a-f]{16}")]
    private static partial Regex DigestPattern();

    /// <summary>The first line where <paramref name="expected"/> and <paramref name="actual"/> differ, with a little context, or null when they are equal.</summary>
    public static string? FirstDifference(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        int n = Math.Max(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
        {
            string? e = i < expected.Count ? expected[i] : null;
            string? a = i < actual.Count ? actual[i] : null;
            if (e != a)
            {
                var sb = new StringBuilder();
                sb.Append(CultureInfo.InvariantCulture, $"first difference at projected line {i + 1}:\n");
                for (int c = Math.Max(0, i - 3); c < i; c++)
                {
                    sb.Append("   = ").Append(expected[c]).Append('\n');
                }

                sb.Append("  sim:  ").Append(e ?? "(nothing more)").Append('\n');
                sb.Append("  real: ").Append(a ?? "(nothing more)").Append('\n');
                return sb.ToString();
            }
        }

        return null;
    }
}
