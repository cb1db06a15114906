namespace LguestSim.Engine.Launch;

/// <summary>How a Launcher run ended.</summary>
public enum LauncherExitKind
{
    /// <summary>The guest died (powered off or panicked); exit status 1 as in lguest.</summary>
    GuestDied,

    /// <summary>The guest broke the protocol; the Launcher stopped it (exit status 1).</summary>
    GuestFault,

    /// <summary>The guest asked to reboot; the caller restarts (re-exec, or in-process in simulation).</summary>
    Restart,

    /// <summary>A device asked the Launcher to exit (three Ctrl-C: status 2).</summary>
    Requested,

    /// <summary>
    /// A host operation failed under the Launcher (e.g. the tap read returned ≤ 0): a
    /// <see cref="LguestHostException"/> that its caller turned into an ending (status 1).
    /// </summary>
    HostError,
}

/// <summary>The end of a Launcher run.</summary>
/// <param name="Kind">Why it ended.</param>
/// <param name="ExitStatus">The process exit status the Launcher would use.</param>
/// <param name="Message">The death reason, fault text or request reason.</param>
/// <param name="Fault">The fault code for <see cref="LauncherExitKind.GuestFault"/>.</param>
public readonly record struct LauncherExit(LauncherExitKind Kind, int ExitStatus, string Message, GuestFault? Fault = null);
