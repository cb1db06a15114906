using System.Runtime.InteropServices;
using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Terminal;

/// <summary>
/// The Launcher's hold on the terminal: while it lives, the terminal on standard input has
/// ISIG, ICANON and ECHO cleared; the settings found at the start are put back on every way
/// out of the process that can run code.
/// </summary>
/// <remarks>
/// <para>
/// Spec §5.1; lguest.c <c>setup_console()</c> and its <c>restore_term()</c> exit hook. The
/// original restores only through <c>atexit</c>, so a SIGTERM, a SIGHUP or a crash leaves the
/// user's shell without echo. Here the restore is idempotent and hooked to each way out:
/// </para>
/// <list type="bullet">
/// <item><see cref="Dispose"/>: normal end, guest death, a fatal error, the three-Ctrl-C exit
/// (the CLI disposes before it prints its results and returns the status);</item>
/// <item><see cref="Restore"/> alone: console input failed (EOF), as lguest.c does;</item>
/// <item><see cref="AppDomain.ProcessExit"/>: <c>Environment.Exit</c> from anywhere;</item>
/// <item><see cref="AppDomain.UnhandledException"/>: a crash; the runtime does not run
/// <c>finally</c> blocks before it aborts, so this is the only code that runs;</item>
/// <item>SIGTERM and SIGHUP: restored on the signal thread, then the signal's default
/// action (termination) goes ahead;</item>
/// <item>SIGCONT: after a stop the runtime would put back the settings it saw at start-up;
/// instead the raw settings are applied again (unless already restored).</item>
/// </list>
/// <para>SIGKILL cannot be caught; nothing can restore after it.</para>
/// </remarks>
public sealed class RawTerminal : IDisposable
{
    private readonly SafeFileHandle _terminal;
    private readonly TerminalSettings _saved;
    private readonly object _gate = new();
    private readonly EventHandler _onProcessExit;
    private readonly UnhandledExceptionEventHandler _onUnhandled;
    private readonly List<PosixSignalRegistration> _signals = new();
    private bool _restored;
    private bool _disposed;

    private RawTerminal(SafeFileHandle terminal, TerminalSettings saved)
    {
        _terminal = terminal;
        _saved = saved;
        _onProcessExit = (_, _) => Restore();
        _onUnhandled = (_, _) => Restore();
    }

    /// <summary>Whether the saved settings have been put back.</summary>
    public bool IsRestored
    {
        get
        {
            lock (_gate)
            {
                return _restored;
            }
        }
    }

    /// <summary>
    /// If <paramref name="terminal"/> is a terminal (tcgetattr succeeds), saves its settings,
    /// hooks the restore to every way out, and clears ISIG, ICANON and ECHO. Otherwise
    /// changes nothing and returns null.
    /// </summary>
    /// <exception cref="IOException">The terminal's settings cannot be changed.</exception>
    public static RawTerminal? TryEnter(SafeFileHandle terminal)
    {
        if (!TerminalSettings.TryRead(terminal, out TerminalSettings? saved))
        {
            return null;
        }

        var raw = new RawTerminal(terminal, saved);

        // Hooks first, then the change: there is no moment when the terminal is raw and a way
        // out is unguarded. (Registering a signal handler also makes the runtime read the
        // terminal's settings once, and those must be the user's, not ours.)
        raw.Hook();
        int rc = Sys.SetTerminalAttributes(terminal, saved, Sys.RawModeClearedLocalModes);
        if (rc != 0)
        {
            raw.Dispose();
            throw new IOException($"cannot put the terminal in raw mode: tcsetattr failed (errno {-rc})");
        }

        return raw;
    }

    /// <summary>Puts the saved settings back. Only the first call (from any thread) does anything.</summary>
    public void Restore()
    {
        lock (_gate)
        {
            if (_restored)
            {
                return;
            }

            _restored = true;

            // Best effort: on a hung-up terminal (SIGHUP) this fails, and there is nothing
            // left to restore for anyone.
            Sys.SetTerminalAttributes(_terminal, _saved);
        }
    }

    /// <summary>Restores the terminal and removes the hooks.</summary>
    public void Dispose()
    {
        Restore();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        AppDomain.CurrentDomain.UnhandledException -= _onUnhandled;
        foreach (PosixSignalRegistration r in _signals)
        {
            r.Dispose();
        }
    }

    private void Hook()
    {
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
        AppDomain.CurrentDomain.UnhandledException += _onUnhandled;

        // Not cancelled: once the terminal is back, the signal ends the process as usual.
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Restore()));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => Restore()));
        if (!OperatingSystem.IsWindows())
        {
            _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGCONT, OnContinue));
        }
    }

    private void OnContinue(PosixSignalContext context)
    {
        // The runtime's own SIGCONT handling re-applies the settings it last knew, which are
        // the user's: that would turn echo and line editing back on mid-run.
        context.Cancel = true;
        lock (_gate)
        {
            if (!_restored)
            {
                Sys.SetTerminalAttributes(_terminal, _saved, Sys.RawModeClearedLocalModes);
            }
        }
    }
}
