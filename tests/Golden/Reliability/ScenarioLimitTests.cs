using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 5: sizes, counts and files have limits, and a run as a whole has a
/// wall-clock guard.
/// </summary>
public sealed class ScenarioLimitTests
{
    [Theory]
    [InlineData("0xFFFFFFFFFFFFFFFF")]
    [InlineData("0x8000000000000000")]
    [InlineData("1024G")]
    [InlineData("2G")]
    public void BlockSize_OverTheLimit_IsAParseError(string size)
    {
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse($"block size={size}\nboot\npoweroff\n", "t.scenario", "t"));
        Assert.StartsWith("t.scenario:1: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScenarioFile_Endless_IsRefusedWithoutReadingItAll()
    {
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.ParseFile("/dev/zero"));
        Assert.Contains("larger than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OverItsWallClockLimit_EndsWithAReason()
    {
        string text = "boot\n" + string.Concat(Enumerable.Repeat("console.write \"x\"\n", 500)) + "poweroff\n";
        Scenario scenario = ScenarioParser.Parse(text, "t.scenario", "t");
        SimulationResult result = SimulationRunner.Run(scenario, new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            RunTimeout = TimeSpan.FromMilliseconds(1),
        });
        Assert.Equal(LauncherExitKind.GuestDied, result.Exit.Kind);
        Assert.Contains("wall-clock limit", result.Exit.Message, StringComparison.Ordinal);
        Assert.Equal(1, result.ExitStatus);
    }
}
