using LguestSim.Backends.Simulated;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>
/// What each fault-* scenario means, apart from how its message is worded: the run's fault
/// code (a field of <see cref="LauncherExit"/>, never parsed from text) and the ending kind.
/// The golden transcripts pin the wording; a changed message fails only them, a changed
/// meaning fails here too.
/// </summary>
public sealed class FaultCodeTests
{
    /// <summary>Every fault-* scenario and the fault it must end with (null: a host error, not a guest fault).</summary>
    private static readonly Dictionary<string, GuestFault?> s_expected = new(StringComparer.Ordinal)
    {
        ["fault-avail-jump"] = GuestFault.AvailIndexJump,
        ["fault-block-bad-sector"] = GuestFault.BlockBadSector,
        ["fault-block-header-misaligned"] = GuestFault.BadTypedBuffer,
        ["fault-block-header-size"] = GuestFault.BadTypedBuffer,
        ["fault-block-no-header"] = GuestFault.BlockBadRequestShape,
        ["fault-block-no-status"] = GuestFault.BlockBadRequestShape,
        ["fault-block-status-size"] = GuestFault.BadTypedBuffer,
        ["fault-block-write-past-end"] = GuestFault.BlockWritePastEnd,
        ["fault-buffer-out-of-bounds"] = GuestFault.BufferOutOfBounds,
        ["fault-chain-too-long"] = GuestFault.ChainTooLong,
        ["fault-console-input-readable"] = GuestFault.ConsoleInputReadable,
        ["fault-console-output-writable"] = GuestFault.ConsoleOutputWritable,
        ["fault-head-out-of-range"] = GuestFault.HeadIndexOutOfRange,
        ["fault-net-rx-header-misaligned"] = GuestFault.BadTypedBuffer,
        ["fault-net-rx-header-size"] = GuestFault.BadTypedBuffer,
        ["fault-net-rx-readable"] = GuestFault.NetRxReadable,
        ["fault-net-tap-read-eof"] = null,
        ["fault-net-tap-read-error"] = null,
        ["fault-net-tx-header-misaligned"] = GuestFault.BadTypedBuffer,
        ["fault-net-tx-header-size"] = GuestFault.BadTypedBuffer,
        ["fault-net-tx-writable"] = GuestFault.NetTxWritable,
        ["fault-next-out-of-range"] = GuestFault.NextIndexOutOfRange,
        ["fault-readable-after-writable"] = GuestFault.ReadableAfterWritable,
    };

    public static TheoryData<string> FaultScenarios()
    {
        var data = new TheoryData<string>();
        foreach ((string name, GuestFault? _) in s_expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void EveryFaultScenario_HasItsExpectedCode()
    {
        string[] onDisk = [.. Directory.GetFiles(Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios"), "fault-*.scenario")
            .Select(Path.GetFileNameWithoutExtension)
            .Select(n => n!)
            .Order(StringComparer.Ordinal)];
        Assert.Equal(onDisk, s_expected.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(FaultScenarios))]
    public void FaultScenario_EndsWithItsFaultCode(string name)
    {
        SimulationResult result = ScenarioGoldenTests.RunScenario(name);
        GuestFault? expected = s_expected[name];

        Assert.Equal(expected is null ? LauncherExitKind.HostError : LauncherExitKind.GuestFault, result.Exit.Kind);
        Assert.Equal(expected, result.Exit.Fault);
        Assert.Equal(1, result.ExitStatus);
    }

    /// <summary>
    /// The transcript's ending carries the code as a fixed field, the word after "guest fault",
    /// so a reader of any transcript (golden or saved) gets the meaning without the wording.
    /// </summary>
    [Theory]
    [MemberData(nameof(FaultScenarios))]
    public void Transcript_EndingNamesTheCodeOfTheRun(string name)
    {
        SimulationResult result = ScenarioGoldenTests.RunScenario(name);
        string ending = result.Transcript.Split('\n').Single(l => l.StartsWith("end: ", StringComparison.Ordinal));

        string expectedPrefix = result.Exit.Fault is { } code ? $"end: guest fault {code}: " : "end: host error: ";
        Assert.StartsWith(expectedPrefix, ending, StringComparison.Ordinal);
    }
}
