using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine;
using LguestSim.Host.Tap;

namespace LguestSim.Emulator.HostSide;

/// <summary>
/// A scenario's host side played for real, behind the emulated <c>/dev/lguest</c>: the
/// console verbs write to and close the Launcher's standard input (a FIFO or pipe the test
/// made it), the net verbs send and receive frames on the Launcher's taps through AF_PACKET
/// sockets in this network namespace.
/// </summary>
/// <remarks>
/// <para>
/// Net device i is the i-th tap interface by interface index (the Launcher's <c>--tunnet</c>
/// order; see <see cref="TapInterfaces"/>). Create this once the Launcher has set up its taps
/// and before the guest boots (at <c>LHREQ_INITIALIZE</c>): the sockets queue frames from the
/// moment they open, so none the guest sends is missed.
/// </para>
/// <para>
/// <c>host.net.read-error</c> cannot be played: the Launcher's tap reads are the kernel's,
/// and nothing here can make one fail. The step fails with a clear message.
/// </para>
/// </remarks>
public sealed class LauncherScenarioHost : IScenarioHost, IDisposable
{
    /// <summary>How long <c>host.net.expect</c> waits for the Launcher's frame.</summary>
    public static readonly TimeSpan DefaultExpectTimeout = TimeSpan.FromSeconds(5);

    private readonly string? _consoleInputPath;
    private readonly PacketSocket[] _taps;
    private FileStream? _consoleInput;
    private bool _consoleClosed;

    private LauncherScenarioHost(string? consoleInputPath, PacketSocket[] taps, TimeSpan expectTimeout)
    {
        _consoleInputPath = consoleInputPath;
        _taps = taps;
        ExpectTimeout = expectTimeout;
    }

    /// <summary>How long <see cref="TryTakeFrame"/> waits.</summary>
    public TimeSpan ExpectTimeout { get; }

    /// <summary>The tap interfaces in net device order.</summary>
    public IReadOnlyList<string> TapNames => _taps.Select(t => t.InterfaceName).ToArray();

    /// <inheritdoc/>
    public int NetCount => _taps.Length;

    /// <summary>
    /// Opens the host side: the console input at <paramref name="consoleInputPath"/> (opened for
    /// writing at the first <c>host.type</c> or <c>host.console.eof</c>; null: the scenario has
    /// none), and a packet socket on each of <paramref name="tapNames"/> (default: every tap of
    /// this namespace, by interface index).
    /// </summary>
    /// <exception cref="LguestHostException">A tap's packet socket cannot be opened.</exception>
    public static LauncherScenarioHost Open(string? consoleInputPath, IReadOnlyList<string>? tapNames = null, TimeSpan? expectTimeout = null)
    {
        tapNames ??= TapInterfaces.List();
        var taps = new List<PacketSocket>();
        try
        {
            foreach (string name in tapNames)
            {
                taps.Add(PacketSocket.Open(name));
            }
        }
        catch
        {
            foreach (PacketSocket t in taps)
            {
                t.Dispose();
            }

            throw;
        }

        return new LauncherScenarioHost(consoleInputPath, taps.ToArray(), expectTimeout ?? DefaultExpectTimeout);
    }

    /// <inheritdoc/>
    public void TypeConsole(ReadOnlySpan<byte> data)
    {
        FileStream input = ConsoleInput();
        try
        {
            input.Write(data);
            input.Flush();
        }
        catch (IOException e)
        {
            throw new ScenarioHostException($"cannot write to the console input {_consoleInputPath}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public void CloseConsoleInput()
    {
        // Opening first makes sure the Launcher sees end of file even if nothing was typed.
        ConsoleInput();
        _consoleInput!.Dispose();
        _consoleClosed = true;
    }

    /// <inheritdoc/>
    public void InjectFrame(int net, byte[] frame)
    {
        try
        {
            Tap(net).Send(frame);
        }
        catch (LguestHostException e)
        {
            throw new ScenarioHostException($"failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public bool TryTakeFrame(int net, out byte[] frame)
    {
        try
        {
            return Tap(net).TryReceiveIncoming(ExpectTimeout, out frame);
        }
        catch (LguestHostException e)
        {
            throw new ScenarioHostException($"failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public void FailNextRead(int net, int result) =>
        throw new ScenarioHostException("cannot be played on a real tap: the Launcher's tap reads are the kernel's");

    /// <summary>Closes the console input (if still open) and the packet sockets.</summary>
    public void Dispose()
    {
        _consoleInput?.Dispose();
        foreach (PacketSocket t in _taps)
        {
            t.Dispose();
        }
    }

    private FileStream ConsoleInput()
    {
        if (_consoleClosed)
        {
            throw new ScenarioHostException("comes after the console input was closed");
        }

        if (_consoleInput is not null)
        {
            return _consoleInput;
        }

        if (_consoleInputPath is null)
        {
            throw new ScenarioHostException("needs a console input, and none was given");
        }

        try
        {
            // A FIFO opens once its reader (the Launcher's stdin) is there, which it is by now.
            _consoleInput = new FileStream(_consoleInputPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            return _consoleInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioHostException($"cannot open the console input {_consoleInputPath}: {e.Message}", e);
        }
    }

    private PacketSocket Tap(int net)
    {
        if ((uint)net >= (uint)_taps.Length)
        {
            throw new ScenarioHostException($"needs net device {net}, but the Launcher has {_taps.Length} tap(s)");
        }

        return _taps[net];
    }
}
