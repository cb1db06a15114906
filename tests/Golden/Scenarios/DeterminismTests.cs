using LguestSim.Backends.Simulated;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>Transcripts must not depend on thread timing: the same run, twenty times, the same bytes.</summary>
public sealed class DeterminismTests
{
    [Fact]
    public void GoldenSuite_Run20Times_GivesIdenticalTranscripts()
    {
        List<string> names = Directory.GetFiles(Path.Combine(Infrastructure.GoldenFile.RepoRoot, "fixtures", "scenarios"), "*.scenario").Select(p => Path.GetFileNameWithoutExtension(p)!).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.Count >= 12, $"only {names.Count} scenarios");
        var first = names.ToDictionary(n => n, n => ScenarioGoldenTests.RunScenario(n).Transcript);
        for (int run = 2; run <= 20; run++)
        {
            foreach (string name in names)
            {
                SimulationResult again = ScenarioGoldenTests.RunScenario(name);
                Assert.True(first[name] == again.Transcript, $"run {run} of {name} differs:\n{Infrastructure.GoldenFile.FirstDifference(first[name], again.Transcript)}");
            }
        }
    }

    /// <summary>The isolate-mode goldens too: a device isolated, a wait given up, a reset, at the same place every run.</summary>
    [Fact]
    public void IsolateGoldens_Run20Times_GiveIdenticalTranscripts()
    {
        List<string> names = Directory.GetFiles(Path.Combine(Infrastructure.GoldenFile.RepoRoot, "fixtures", "scenarios"), "*.scenario").Select(p => Path.GetFileNameWithoutExtension(p)!)
            .Where(ScenarioGoldenTests.IsIsolateCase).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.Count >= 25, $"only {names.Count} scenarios");
        var first = names.ToDictionary(n => n, n => ScenarioGoldenTests.RunScenario(n, guestErrors: Engine.Launch.GuestErrorMode.Isolate).Transcript);
        for (int run = 2; run <= 20; run++)
        {
            foreach (string name in names)
            {
                SimulationResult again = ScenarioGoldenTests.RunScenario(name, guestErrors: Engine.Launch.GuestErrorMode.Isolate);
                Assert.True(first[name] == again.Transcript, $"run {run} of {name} differs:\n{Infrastructure.GoldenFile.FirstDifference(first[name], again.Transcript)}");
            }
        }
    }
}
