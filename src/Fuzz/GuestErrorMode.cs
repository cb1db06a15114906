namespace LguestSim.Fuzz;

/// <summary>
/// Placeholder for the engine's <c>LguestSim.Engine.Launch.GuestErrorMode</c> (issue 12 item 1),
/// until it lands on main: what the Launcher does with a guest fault.
/// </summary>
public enum GuestErrorMode
{
    /// <summary>lguest's behaviour: the fault ends the run (exit status 1).</summary>
    Exit,

    /// <summary>The faulting device is isolated; everything else keeps running.</summary>
    Isolate,
}

/// <summary>The modes as lists.</summary>
public static class FuzzModes
{
    /// <summary>Both modes, exit first.</summary>
    public static IReadOnlyList<GuestErrorMode> All { get; } = [GuestErrorMode.Exit, GuestErrorMode.Isolate];
}
