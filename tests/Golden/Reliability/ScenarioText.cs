using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Host.Block;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>Runs a scenario given as text, the way <c>lguestsim sim --scenario</c> runs a file.</summary>
internal static class ScenarioText
{
    public static SimulationResult Run(string text, string? blockFile = null)
    {
        Scenario scenario = ScenarioParser.Parse(text, "test.scenario", "test");
        return SimulationRunner.Run(scenario, new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            BlockFile = blockFile,
            HaltTimeout = TimeSpan.FromSeconds(20),
        });
    }
}
