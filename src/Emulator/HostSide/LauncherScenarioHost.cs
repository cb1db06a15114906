using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine;
using LguestSim.Host.Tap;

namespace LguestSim.Emulator.HostSide;

/// <summary>
/// A scenario's host side played for real, behind the emulated <c>/dev/lguest</c>: the
/// console verbs write to and close the Launcher's standard input (a FIFO the server holds
/// open, see <see cref="LauncherConsoleInput"/>), the net verbs send and receive frames on the
/// Launcher's taps through AF_PACKET sockets in this network namespace.
/// </summary>
/// <remarks>
/// <para>
/// Net device i is the i-th tap interface by interface index (the Launcher's <c>--tunnet</c>
/// order; see <see cref="TapInterfaces"/>). Create this once the Launcher has set up its taps
/// and before the guest boots (at <c>LHREQ_INITIALIZE</c>): the sockets queue frames from the
/// moment they open, so none the guest sends is missed.
/// </para>
/// <para>
/// <c>host.net.read-error</c> cannot choose the errno of a read the kernel answers. It is played
/// by deleting the tap interface: the Launcher's next read of its tap file then fails (EBADFD),
/// and its poll reports POLLERR so that the Waker wakes it. A read returning 0 bytes (errno=0)
/// a real tap never gives; that step fails with a clear message.
/// </para>
/// </remarks>
public sealed class LauncherScenarioHost : IScenarioHost, IDisposable
{
    /// <summary>How long <c>host.net.expect</c> waits for the Launcher's frame.</summary>
    public static readonly TimeSpan DefaultExpectTimeout = TimeSpan.FromSeconds(5);

    private readonly LauncherConsoleInput? _consoleInput;
    private readonly PacketSocket[] _taps;

    private LauncherScenarioHost(LauncherConsoleInput? consoleInput, PacketSocket[] taps, TimeSpan expectTimeout)
    {
        _consoleInput = consoleInput;
        _taps = taps;
        ExpectTimeout = expectTimeout;
    }

    /// <summary>How long <see cref="TryTakeFrame"/> waits.</summary>
    public TimeSpan ExpectTimeout { get; }

    /// <inheritdoc/>
    public int NetCount => _taps.Length;

    /// <summary>
    /// Opens the host side: the console input <paramref name="consoleInput"/> (owned by the
    /// caller, who opened it at start-up; null: the scenario has none), and a packet socket on
    /// each of <paramref name="tapNames"/> (default: every tap of this namespace, by interface index).
    /// </summary>
    /// <exception cref="LguestHostException">A tap's packet socket cannot be opened.</exception>
    public static LauncherScenarioHost Open(LauncherConsoleInput? consoleInput, IReadOnlyList<string>? tapNames = null, TimeSpan? expectTimeout = null)
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

        return new LauncherScenarioHost(consoleInput, taps.ToArray(), expectTimeout ?? DefaultExpectTimeout);
    }

    /// <inheritdoc/>
    public void TypeConsole(ReadOnlySpan<byte> data) => ConsoleInput().Write(data);

    /// <inheritdoc/>
    public void CloseConsoleInput() => ConsoleInput().Close();

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
    /// <remarks>Deletes the tap interface (<c>ip link delete</c>); see the class remarks.</remarks>
    public void FailNextRead(int net, int result)
    {
        if (result == 0)
        {
            throw new ScenarioHostException("cannot be played on a real tap: its reads never return 0 bytes");
        }

        string name = Tap(net).InterfaceName;
        var psi = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "link", "delete", "dev", name })
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var ip = System.Diagnostics.Process.Start(psi)!;
            string error = ip.StandardError.ReadToEnd();
            ip.WaitForExit();
            if (ip.ExitCode != 0)
            {
                throw new ScenarioHostException($"cannot delete the tap {name}: {error.Trim()}");
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ScenarioHostException($"cannot run ip to delete the tap {name}: {e.Message}", e);
        }
    }

    /// <summary>Closes the packet sockets (the console input belongs to the caller).</summary>
    public void Dispose()
    {
        foreach (PacketSocket t in _taps)
        {
            t.Dispose();
        }
    }

    private LauncherConsoleInput ConsoleInput() =>
        _consoleInput ?? throw new ScenarioHostException("needs a console input, and none was given");

    private PacketSocket Tap(int net)
    {
        if ((uint)net >= (uint)_taps.Length)
        {
            throw new ScenarioHostException($"needs net device {net}, but the Launcher has {_taps.Length} tap(s)");
        }

        return _taps[net];
    }
}
