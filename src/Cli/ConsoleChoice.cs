using System.CommandLine;
using LguestSim.Backends.Simulated;
using LguestSim.Engine.Channel;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Terminal;
using LguestSim.Host.Waking;

namespace LguestSim.Cli;

/// <summary>
/// <c>--console=sim|tty</c>: whether the guest's console is the scenario's simulated keyboard
/// and screen, or this process's real standard input and output (raw while the guest runs,
/// restored on every way out), with the poll(2) Waker watching standard input.
/// </summary>
internal sealed class ConsoleChoice : IDisposable
{
    private readonly TerminalConsolePort? _terminal;

    private ConsoleChoice(TerminalConsolePort? terminal, IConsolePort? port)
    {
        _terminal = terminal;
        Port = port;
    }

    /// <summary>The real console port, or null for the simulated one.</summary>
    public IConsolePort? Port { get; }

    /// <summary>The Waker for a real console (poll on stdin), or null for the default one.</summary>
    public Func<ILguestChannel, IWaker>? CreateWaker => _terminal is null ? null : channel => new PollWaker(channel);

    /// <summary>
    /// How long a halted guest may wait for something to wake it: with a real console, as
    /// long as the user takes to type (three Ctrl-C, SIGTERM or SIGHUP end a run that waits
    /// for ever); with the simulated one, the simulation's default.
    /// </summary>
    public TimeSpan HaltTimeout => _terminal is null ? SimulationOptions.DefaultHaltTimeout : TimeSpan.MaxValue;

    /// <summary>The run's wall-clock guard: none for a person at a terminal.</summary>
    public TimeSpan RunTimeout => _terminal is null ? SimulationOptions.DefaultRunTimeout : TimeSpan.MaxValue;

    /// <summary>The <c>--console</c> option.</summary>
    public static Option<string> CreateOption()
    {
        var option = new Option<string>("--console")
        {
            Description = "The guest's console: 'sim' (default), the scenario's simulated keyboard and screen; "
                + "'tty', this process's real stdin/stdout (a terminal is put in raw mode for the run and restored on exit; "
                + "three lone Ctrl-C within about a second end the run with status 2).",
            DefaultValueFactory = _ => "sim",
        };
        option.AcceptOnlyFromAmong("sim", "tty");
        return option;
    }

    /// <summary>A hidden, test-only option: crash with an unhandled exception at the guest's first console write.</summary>
    public static Option<bool> CreateCrashOption() => new("--test-crash-on-console-output")
    {
        Description = "Test only: throw an unhandled exception when the guest first writes to the console.",
        Hidden = true,
    };

    /// <summary>Opens the chosen console. For <c>tty</c> the terminal is raw from here on.</summary>
    /// <exception cref="IOException">Standard input is a terminal whose settings cannot be changed.</exception>
    public static ConsoleChoice Open(string mode, bool crashOnOutput)
    {
        if (mode != "tty")
        {
            return new ConsoleChoice(null, null);
        }

        var terminal = TerminalConsolePort.OpenStandard();
        return new ConsoleChoice(terminal, crashOnOutput ? new CrashingPort(terminal) : terminal);
    }

    /// <summary>Restores the terminal (idempotent).</summary>
    public void Dispose() => _terminal?.Dispose();

    /// <summary>
    /// Passes everything through, except that a write crashes the process: the exception is
    /// thrown on a thread of its own, where nothing catches it and no <c>finally</c> or
    /// <c>using</c> of the run loop gets to run, so only the terminal's crash hook can restore.
    /// </summary>
    private sealed class CrashingPort(IConsolePort inner) : IConsolePort
    {
        public InputSource Input => inner.Input;

        public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => inner.Read(memory, buffers);

        public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
        {
            var crash = new Thread(() => throw new InvalidOperationException("test-only crash on console output (--test-crash-on-console-output)"))
            {
                Name = "test-only crash",
            };
            crash.Start();
            crash.Join();

            // Not reached: the unhandled exception ends the process.
            return inner.Write(memory, buffers);
        }

        public void InputFailed() => inner.InputFailed();
    }
}
