using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
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

    private static string ScenarioDir => Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios");

    /// <summary>Runs a scenario file the way `lguestsim sim --scenario` does and returns the transcript.</summary>
    public static SimulationResult RunScenario(string name, bool pollWaker = false)
    {
        Scenario scenario = ScenarioParser.ParseFile(Path.Combine(ScenarioDir, name + ".scenario"), $"fixtures/scenarios/{name}.scenario");
        return SimulationRunner.Run(scenario, new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            HaltTimeout = TimeSpan.FromSeconds(20),
            CreateWaker = pollWaker ? channel => new PollWaker(channel) : null,
        });
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void Scenario_MatchesVerifiedTranscript(string name)
    {
        SimulationResult result = RunScenario(name);
        GoldenFile.Verify($"scenarios/{name}.transcript", result.Transcript);
    }

    /// <summary>The poll(2)-based Waker of real runs gives the guest exactly the same run.</summary>
    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void Scenario_WithPollWaker_GivesTheSameTranscript(string name)
    {
        Assert.Equal(RunScenario(name).Transcript, RunScenario(name, pollWaker: true).Transcript);
    }
}
