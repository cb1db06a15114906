using LguestSim.Engine.Launch;

namespace LguestSim.Fuzz;

/// <summary>The modes as lists.</summary>
public static class FuzzModes
{
    /// <summary>Both modes, exit first.</summary>
    public static IReadOnlyList<GuestErrorMode> All { get; } = [GuestErrorMode.Exit, GuestErrorMode.Isolate];
}
