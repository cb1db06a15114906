namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>Scenarios compiled into the program.</summary>
public static class BuiltInScenarios
{
    /// <summary>The name of the default scenario (fixtures/scenarios/full-boot.scenario).</summary>
    public const string DefaultName = "full-boot";

    /// <summary>The default scenario: all three devices probed and used, then a clean power-off.</summary>
    public static Scenario Default()
    {
        using Stream stream = typeof(BuiltInScenarios).Assembly.GetManifestResourceStream(DefaultName + ".scenario")
            ?? throw new InvalidOperationException("the default scenario is not embedded");
        using var reader = new StreamReader(stream);
        return ScenarioParser.Parse(reader.ReadToEnd(), "<built-in full-boot.scenario>", DefaultName);
    }
}
