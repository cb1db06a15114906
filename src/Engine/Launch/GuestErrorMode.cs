namespace LguestSim.Engine.Launch;

/// <summary>What the Launcher does with a <see cref="GuestFaultException"/> (<c>--guest-errors</c>).</summary>
/// <remarks>Host errors (<see cref="LguestHostException"/>, <see cref="LauncherException"/>, anything else) end the run in both modes.</remarks>
public enum GuestErrorMode
{
    /// <summary>lguest's own behaviour: the fault ends the run with one message and exit status 1.</summary>
    Exit,

    /// <summary>
    /// The faulting device is isolated: it stops being served (its notifies are ignored, its
    /// input is not listened to, its worker parks) until the guest resets it; every other device
    /// and the guest keep running. A notify no device owns (<see cref="GuestFault.BadNotify"/>)
    /// is ignored with a warning.
    /// </summary>
    Isolate,
}

/// <summary>The words of <c>--guest-errors</c>.</summary>
public static class GuestErrorModeNames
{
    /// <summary>The accepted values, as the usage text shows them.</summary>
    public const string Choices = "exit|isolate";

    /// <summary>Parses <c>exit</c> or <c>isolate</c> (exactly, lower case).</summary>
    /// <returns>False for anything else.</returns>
    public static bool TryParse(string? text, out GuestErrorMode mode)
    {
        switch (text)
        {
            case "exit":
                mode = GuestErrorMode.Exit;
                return true;
            case "isolate":
                mode = GuestErrorMode.Isolate;
                return true;
            default:
                mode = GuestErrorMode.Exit;
                return false;
        }
    }

    /// <summary>The one-line complaint about a bad value (without the program name).</summary>
    public static string BadValue(string text) => $"--guest-errors must be exit or isolate, not '{Loader.MessageText.Escape(text)}'";
}
