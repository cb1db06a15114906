using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using LguestSim.Host.Waking;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>Every fixtures/scenarios/*.scenario against its verified transcript.</summary>
public sealed class ScenarioGoldenTests
{
    public static TheoryData<string> ScenarioNames()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(ScenarioDir, "*.scenario").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }

        return data;
    }

    /// <summary>
    /// The scenarios that also run in isolate mode, each with its own golden in
    /// fixtures/expected/scenarios-isolate: every <c>fault-*</c> and every <c>isolate-*</c>.
    /// </summary>
    public static TheoryData<string> IsolateScenarioNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in AllNames().Where(IsIsolateCase))
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>The scenarios with no guest fault: isolate mode must give exactly their exit-mode transcript.</summary>
    public static TheoryData<string> FaultFreeScenarioNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in AllNames().Where(n => !IsIsolateCase(n)))
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>Whether <paramref name="name"/> has an isolate-mode golden of its own.</summary>
    public static bool IsIsolateCase(string name) =>
        name.StartsWith("fault-", StringComparison.Ordinal) || name.StartsWith("isolate-", StringComparison.Ordinal);

    private static IEnumerable<string> AllNames() =>
        Directory.GetFiles(ScenarioDir, "*.scenario").Select(p => Path.GetFileNameWithoutExtension(p)).Order(StringComparer.Ordinal);

    private static string ScenarioDir => Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios");

    /// <summary>Runs a scenario file the way `lguestsim sim --scenario` does and returns the transcript.</summary>
    public static SimulationResult RunScenario(string name, bool pollWaker = false, GuestErrorMode guestErrors = GuestErrorMode.Exit)
    {
        Scenario scenario = ScenarioParser.ParseFile(Path.Combine(ScenarioDir, name + ".scenario"), $"fixtures/scenarios/{name}.scenario");
        return SimulationRunner.Run(scenario, new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            HaltTimeout = TimeSpan.FromSeconds(20),
            CreateWaker = pollWaker ? channel => new PollWaker(channel) : null,
            GuestErrors = guestErrors,
        });
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void Scenario_MatchesVerifiedTranscript(string name)
    {
        SimulationResult result = RunScenario(name);
        GoldenFile.Verify($"scenarios/{name}.transcript", result.Transcript);
    }

    /// <summary>Every fault scenario (and every isolate-* one) in isolate mode, against its own golden.</summary>
    [Theory]
    [MemberData(nameof(IsolateScenarioNames))]
    public void Scenario_InIsolateMode_MatchesVerifiedTranscript(string name)
    {
        SimulationResult result = RunScenario(name, guestErrors: GuestErrorMode.Isolate);
        GoldenFile.Verify($"scenarios-isolate/{name}.transcript", result.Transcript);
    }

    /// <summary>Isolate mode in the isolate goldens, with the poll(2)-based Waker: the same transcript.</summary>
    [Theory]
    [MemberData(nameof(IsolateScenarioNames))]
    public void Scenario_InIsolateMode_WithPollWaker_GivesTheSameTranscript(string name)
    {
        Assert.Equal(RunScenario(name, guestErrors: GuestErrorMode.Isolate).Transcript, RunScenario(name, pollWaker: true, guestErrors: GuestErrorMode.Isolate).Transcript);
    }

    /// <summary>Without a guest fault the two modes cannot differ: isolate mode gives the exit-mode golden.</summary>
    [Theory]
    [MemberData(nameof(FaultFreeScenarioNames))]
    public void Scenario_WithoutFault_InIsolateMode_MatchesTheExitModeTranscript(string name)
    {
        SimulationResult result = RunScenario(name, guestErrors: GuestErrorMode.Isolate);
        Assert.Empty(result.Isolations);
        string expected = File.ReadAllText(Path.Combine(GoldenFile.ExpectedDir, "scenarios", name + ".transcript"));
        Assert.True(expected == result.Transcript, GoldenFile.FirstDifference(expected, result.Transcript));
    }

    /// <summary>The poll(2)-based Waker of real runs gives the guest exactly the same run.</summary>
    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void Scenario_WithPollWaker_GivesTheSameTranscript(string name)
    {
        Assert.Equal(RunScenario(name).Transcript, RunScenario(name, pollWaker: true).Transcript);
    }
}
