using LguestSim.Fuzz;
using LguestSim.Tests.Golden.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>
/// Every saved fuzz case (fixtures/scenarios/fuzz/*.scenario) replays with every oracle holding,
/// against its verified transcript; and `lguestsim sim --scenario` is what replays them.
/// </summary>
public sealed class FuzzScenarioTests
{
    public static TheoryData<string> FuzzScenarioNames()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(FuzzDir, "*.scenario").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }

        return data;
    }

    private static string FuzzDir => Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios", "fuzz");

    [Theory]
    [MemberData(nameof(FuzzScenarioNames))]
    public void FuzzScenario_OraclesHold_MatchesVerifiedTranscript(string name)
    {
        string text = File.ReadAllText(Path.Combine(FuzzDir, name + ".scenario"));
        FuzzReplayResult result = FuzzReplay.Run(text, $"fixtures/scenarios/fuzz/{name}.scenario");
        Assert.True(result.Verdict.Ok, result.Transcript);
        GoldenFile.Verify($"scenarios/fuzz/{name}.transcript", result.Transcript);
    }

    [Fact]
    public void Sim_ReplaysAFuzzScenario_SameTranscript_Exit0()
    {
        string path = Path.Combine(FuzzDir, "block-write-nothing-past-end.scenario");
        CliProcess.Result r = CliProcess.Run(["sim", "--scenario", path]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(FuzzReplay.Run(File.ReadAllText(path), path).Transcript, r.Stdout);
    }

    [Fact]
    public void Sim_MalformedFuzzScenario_OneLine_Exit1()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lguestsim-fuzz-{Environment.ProcessId}.scenario");
        File.WriteAllText(path, "fuzz device=block mode=exit\nring.desc block 0 999 addr=0 len=0\n");
        try
        {
            CliProcess.Result r = CliProcess.Run(["sim", "--scenario", path]);
            Assert.Equal(1, r.ExitCode);
            string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Contains(":2: bad number '999'", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
