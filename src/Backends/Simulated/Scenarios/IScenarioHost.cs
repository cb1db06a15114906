namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>
/// The host side of a scenario: what its <c>host.*</c> verbs do to the Launcher's console
/// input and taps. In the in-process simulation that is the in-memory console port and taps
/// (<see cref="SimulatedHost"/>); behind the emulated <c>/dev/lguest</c> it is the Launcher's
/// real stdin and real taps.
/// </summary>
/// <remarks>
/// A verb the implementation cannot play throws <see cref="ScenarioHostException"/>; the
/// scenario then fails at that step with <c>VERB MESSAGE</c>, so the message reads as the
/// rest of a sentence about the verb ("needs the in-memory tap, ...").
/// </remarks>
public interface IScenarioHost
{
    /// <summary>Net devices whose host end the scenario can reach, in device order.</summary>
    int NetCount { get; }

    /// <summary><c>host.type</c>: <paramref name="data"/> arrives on the Launcher's console input.</summary>
    /// <exception cref="ScenarioHostException">The console input cannot be written.</exception>
    void TypeConsole(ReadOnlySpan<byte> data);

    /// <summary><c>host.console.eof</c>: the Launcher's console input reaches end of file.</summary>
    /// <exception cref="ScenarioHostException">The console input cannot be closed.</exception>
    void CloseConsoleInput();

    /// <summary><c>host.net.send</c>: <paramref name="frame"/> arrives on net device <paramref name="net"/>'s tap, for the Launcher to read (guest rx).</summary>
    /// <exception cref="ScenarioHostException">The frame cannot be injected.</exception>
    void InjectFrame(int net, byte[] frame);

    /// <summary>
    /// <c>host.net.expect</c>: takes the next frame the Launcher wrote to net device
    /// <paramref name="net"/>'s tap (guest tx); false when none came (at once in memory,
    /// within a timeout on a real tap).
    /// </summary>
    /// <exception cref="ScenarioHostException">The tap cannot be read.</exception>
    bool TryTakeFrame(int net, out byte[] frame);

    /// <summary>
    /// <c>host.net.read-error</c>: the Launcher's next read of net device <paramref name="net"/>'s
    /// tap returns <paramref name="result"/> (0, or a negative errno). A real tap cannot be made
    /// to do that: its implementation refuses.
    /// </summary>
    /// <exception cref="ScenarioHostException">The implementation cannot fail a tap read.</exception>
    void FailNextRead(int net, int result);
}

/// <summary>A scenario's <c>host.*</c> verb cannot be played by this host (see <see cref="IScenarioHost"/>).</summary>
public sealed class ScenarioHostException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> continues a sentence that starts with the verb.</summary>
    public ScenarioHostException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
