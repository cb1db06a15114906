using System.Diagnostics;
using System.Text;
using LguestSim.Tests.Host.Net;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// The differential of issue 11: every scenario of fixtures/scenarios (but the few listed in
/// <see cref="Excluded"/>, with why) run in real mode (<c>lguestsim run</c> on
/// <c>lguestsim lgdev</c>, see <see cref="RealModeRun"/>) gives the same guest-visible
/// transcript and the same outcome as in-process <c>sim</c>, whose transcripts are the goldens
/// in fixtures/expected/scenarios (checked byte for byte against sim by the golden tests).
/// </summary>
public sealed class DifferentialTests
{
    private static readonly string s_scenarios = Path.Combine(NetTestText.RepoRoot, "fixtures", "scenarios");
    private static readonly string s_expected = Path.Combine(NetTestText.RepoRoot, "fixtures", "expected", "scenarios");

    /// <summary>The scenarios left out of the differential, and why each cannot be played for real.</summary>
    public static readonly IReadOnlyDictionary<string, string> Excluded = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["fault-net-tap-read-eof"] = "a real tap's read never returns 0 bytes: the host end the scenario needs cannot happen with a real Launcher",
        ["net-ping"] = "its host end is sim's in-memory IPv4 host (host-ip=); for real, the host kernel answers, with its own ARP "
            + "timing, IP ids and checksums, so the frames the guest sees differ by design (the real ping is RunPingTests' job)",
    };

    /// <summary>Scenarios whose ending is compared by its kind and message prefix only, and why.</summary>
    private static readonly IReadOnlyDictionary<string, string> s_endingPrefixOnly = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // host.net.read-error is played by deleting the tap interface: the kernel fails the
        // Launcher's read with EBADFD ("File descriptor in bad state"), not the scenario's errno.
        ["fault-net-tap-read-error"] = "lguestsim: net: reading from the tap device failed: ",
    };

    /// <summary>One case per scenario that is played.</summary>
    public static TheoryData<string> Played()
    {
        var data = new TheoryData<string>();
        foreach (string name in AllScenarios().Where(n => !Excluded.ContainsKey(n)))
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Exclusions_AreFew_AndNoneIsAFaultBlockRebootOrResetScenario_ButTheUnplayableEof()
    {
        string[] all = AllScenarios();
        Assert.Equal(["fault-net-tap-read-eof", "net-ping"], Excluded.Keys.Order(StringComparer.Ordinal));
        Assert.All(Excluded.Keys, n => Assert.Contains(n, all));
        Assert.True(Excluded.Count <= 7, $"{Excluded.Count} scenarios excluded");
        Assert.True(all.Length - Excluded.Count >= 30, $"only {all.Length - Excluded.Count} scenarios played");
        string[] mustPlay = Excluded.Keys
            .Where(n => n.StartsWith("fault-", StringComparison.Ordinal) || n.Contains("block", StringComparison.Ordinal) || n.Contains("reboot", StringComparison.Ordinal) || n.Contains("reset", StringComparison.Ordinal))
            .Where(n => n != "fault-net-tap-read-eof")
            .ToArray();
        Assert.Empty(mustPlay);
    }

    [FuseTheory]
    [MemberData(nameof(Played))]
    public void RealMode_GivesSimsGuestTranscriptAndOutcome(string scenario)
    {
        string sim = File.ReadAllText(Path.Combine(s_expected, scenario + ".transcript"));
        var clock = Stopwatch.StartNew();
        RealModeRun real = RealModeRun.Run(Path.Combine(s_scenarios, scenario + ".scenario"));
        string timedOut = real.TimedOut ? $", timed out after {RealModeRun.Timeout.TotalSeconds} s and was stopped" : "";
        string context = $"\n{real.CommandLine} ({clock.Elapsed.TotalSeconds:F1} s{timedOut})\nLauncher stderr:\n{real.Stderr}lgdev stderr:\n{real.ServerStderr}";

        List<string> simLines = TranscriptProjection.Lines(sim);
        List<string> realLines = TranscriptProjection.NormaliseMacs(TranscriptProjection.Lines(real.Transcript), simLines);
        simLines = TranscriptProjection.MaskGuestFrameDigests(simLines);
        realLines = TranscriptProjection.MaskGuestFrameDigests(realLines);
        Assert.True(simLines.Count > 0 && simLines[0].StartsWith("device page at ", StringComparison.Ordinal), "sim's transcript has no device page");
        string? difference = TranscriptProjection.FirstDifference(simLines, realLines);
        Assert.True(difference is null, $"{scenario}: {difference}{context}");
        Assert.False(real.TimedOut, $"{scenario}: the same lines, but the real run did not end{context}");

        string expectedEnding = TranscriptProjection.ExpectedEnding(sim);
        string actualEnding = TranscriptProjection.ActualEnding(real.Stderr, real.ExitCode);
        if (s_endingPrefixOnly.TryGetValue(scenario, out string? prefix))
        {
            Assert.StartsWith(prefix, expectedEnding, StringComparison.Ordinal);
            Assert.True(actualEnding.StartsWith(prefix, StringComparison.Ordinal) && actualEnding.EndsWith(" / exit status 1", StringComparison.Ordinal),
                $"{scenario}: ending\n  sim:  {expectedEnding}\n  real: {actualEnding}{context}");
        }
        else
        {
            Assert.True(expectedEnding == actualEnding, $"{scenario}: ending\n  sim:  {expectedEnding}\n  real: {actualEnding}{context}");
        }

        byte[] console = TranscriptProjection.ConsoleBytes(sim);
        Assert.True(console.AsSpan().SequenceEqual(real.Stdout),
            $"{scenario}: the Launcher's stdout\n  sim:  {Encoding.Latin1.GetString(console)}\n  real: {Encoding.Latin1.GetString(real.Stdout)}{context}");
    }

    private static string[] AllScenarios() =>
        Directory.GetFiles(s_scenarios, "*.scenario").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToArray();
}
