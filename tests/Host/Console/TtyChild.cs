using System.Diagnostics;
using System.Text;
using LguestSim.Host.Terminal;

// Not ".Console": a namespace of that name would hide System.Console from every test in the
// enclosing namespaces.
namespace LguestSim.Tests.Host.ConsoleTests;

/// <summary>
/// Runs the real <c>lguestsim sim --console=tty</c> with a fresh pseudo-terminal's slave as its
/// standard input and output, and plays the user at the master end.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Process.Start(ProcessStartInfo)"/> can only give a child pipes or our own stdio,
/// so the child is started as <c>setsid env --default-signal sh -c 'exec "$@" &lt;PTY &gt;PTY' sh dotnet lguestsim.dll …</c>:
/// </para>
/// <list type="bullet">
/// <item><c>setsid</c> makes the child the leader of a new session with no controlling
/// terminal (it does not fork: a child of ours is not a process-group leader);</item>
/// <item><c>sh</c> opens the slave by path for stdin and stdout; a session leader without a
/// controlling terminal that opens a terminal acquires it, so the pty becomes the child's
/// controlling terminal and the child its foreground process group — exactly a user's shell
/// running lguestsim. Had lguestsim left ISIG on, a typed ^C would kill it with SIGINT;</item>
/// <item><c>env --default-signal</c> puts every signal back to its default action: an ignored
/// signal stays ignored across exec, so a test run started under <c>nohup</c> would otherwise
/// give the Launcher an ignored SIGHUP;</item>
/// <item><c>exec</c> keeps the pid, so the pid <c>sh</c> prints first on stderr is the
/// Launcher's, the one the signal tests aim at.</item>
/// </list>
/// <para>
/// The test keeps its own slave fd open (O_NOCTTY), so the terminal and its settings outlive
/// the child and can be compared with the ones before; a thread drains the master so that
/// the child never blocks writing to a full terminal.
/// </para>
/// </remarks>
internal sealed class TtyChild : IDisposable
{
    private readonly PseudoTerminal _pty;
    private readonly Process _process;
    private readonly string _directory;
    private readonly List<byte> _output = new();
    private readonly StringBuilder _stderr = new();
    private readonly Thread _reader;
    private readonly TaskCompletionSource<int> _pid = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    private TtyChild(PseudoTerminal pty, TerminalSettings before, string directory, Process process)
    {
        _pty = pty;
        Before = before;
        _directory = directory;
        _process = process;
        _reader = new Thread(Drain) { IsBackground = true, Name = "pty master reader" };
        _reader.Start();
    }

    public static TimeSpan Patience { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The terminal's settings before the child started.</summary>
    public TerminalSettings Before { get; }

    /// <summary>The terminal's settings now.</summary>
    public TerminalSettings Current => TerminalSettings.Read(_pty.Slave);

    /// <summary>Everything the terminal has shown so far, one char per byte.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return Encoding.Latin1.GetString(_output.ToArray());
            }
        }
    }

    /// <summary>The child's stderr so far (after the pid line).</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The transcript lguestsim wrote with --transcript (present only when the run completed).</summary>
    public string? Transcript => File.Exists(TranscriptPath) ? File.ReadAllText(TranscriptPath) : null;

    private string TranscriptPath => Path.Combine(_directory, "run.transcript");

    /// <summary>Starts lguestsim on a new pty with <paramref name="scenario"/> (scenario file text).</summary>
    public static TtyChild Start(string scenario, params string[] extraArguments) => Start(scenario, stdinIsTerminal: true, extraArguments);

    /// <summary>
    /// Starts lguestsim with <paramref name="scenario"/>; its stdout is the pty, and so is its
    /// stdin unless <paramref name="stdinIsTerminal"/> is false (then stdin is /dev/null).
    /// </summary>
    public static TtyChild Start(string scenario, bool stdinIsTerminal, params string[] extraArguments)
    {
        PseudoTerminal pty = PseudoTerminal.Open();
        TerminalSettings before = TerminalSettings.Read(pty.Slave);
        string directory = Directory.CreateTempSubdirectory("lguestsim-tty-").FullName;
        string scenarioPath = Path.Combine(directory, "test.scenario");
        File.WriteAllText(scenarioPath, scenario);

        var psi = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.Environment["LGUESTSIM_TEST_PTY"] = pty.SlavePath;
        psi.Environment["LGUESTSIM_TEST_STDIN"] = stdinIsTerminal ? pty.SlavePath : "/dev/null";
        // env --default-signal: every signal at its default action, as from a user's shell,
        // whatever the test run inherited (under nohup SIGHUP is ignored, and a child that
        // inherits that never ends on SIGHUP).
        foreach (string a in new[] { "env", "--default-signal", "sh", "-c", "echo \"pid $$\" >&2; exec \"$@\" <\"$LGUESTSIM_TEST_STDIN\" >\"$LGUESTSIM_TEST_PTY\"", "sh" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lguestsim.dll"));
        foreach (string a in new[] { "sim", "--console=tty", "--scenario", scenarioPath, "--transcript", Path.Combine(directory, "run.transcript") })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string a in extraArguments)
        {
            psi.ArgumentList.Add(a);
        }

        Process process = Process.Start(psi) ?? throw new InvalidOperationException("setsid did not start");
        var child = new TtyChild(pty, before, directory, process);
        process.ErrorDataReceived += (_, e) => child.OnStderr(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return child;
    }

    /// <summary>The Launcher's pid (as printed by the shell that exec'd it).</summary>
    public int Pid => _pid.Task.Wait(Patience) ? _pid.Task.Result : throw new TimeoutException("the child never printed its pid");

    /// <summary>Types <paramref name="data"/> on the terminal in one write.</summary>
    public void Type(ReadOnlySpan<byte> data)
    {
        int n = _pty.Type(data);
        if (n != data.Length)
        {
            throw new IOException($"typing on the pty wrote {n} of {data.Length} bytes");
        }
    }

    /// <summary>Waits until the terminal has ISIG, ICANON and ECHO all clear (lguestsim has set it up).</summary>
    public TerminalSettings WaitUntilRaw()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            TerminalSettings now = Current;
            if (!now.SignalKeys && !now.Canonical && !now.Echo)
            {
                return now;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"lguestsim exited ({_process.ExitCode}) before the terminal went raw; stderr: {Stderr}");
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"the terminal never went raw: {Current}; stderr: {Stderr}");
    }

    /// <summary>Waits until the terminal has shown <paramref name="text"/>.</summary>
    public void WaitForOutput(string text)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > Patience || _process.HasExited)
            {
                // One last look: the output may have arrived just before the exit.
                Thread.Sleep(200);
                if (Output.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                throw new TimeoutException($"the terminal never showed {text}; it showed: {Output}; stderr: {Stderr}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Waits until the terminal has shown <paramref name="text"/> (true) or the Launcher has ended (false).</summary>
    public bool WaitForOutputOrExit(string text)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (_process.HasExited)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException($"the terminal never showed {text}; it showed: {Output}; stderr: {Stderr}");
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, HUP, ...) to the Launcher.</summary>
    public void Signal(string signal)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        foreach (string a in new[] { "-c", "kill -s \"$1\" \"$2\"", "sh", signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }

        using Process kill = Process.Start(psi)!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} failed");
        }
    }

    /// <summary>Waits for the Launcher to end and returns its exit code (128 + n for death by signal n).</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Patience))
        {
            throw new TimeoutException($"lguestsim did not end; it showed: {Output}; stderr: {Stderr}");
        }

        _process.WaitForExit(); // flush the redirected streams
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        _stopping = true;
        _reader.Join(TimeSpan.FromSeconds(5));
        _pty.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (!_pid.Task.IsCompleted && line.StartsWith("pid ", StringComparison.Ordinal))
        {
            _pid.TrySetResult(int.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        lock (_stderr)
        {
            _stderr.Append(line).Append('\n');
        }
    }

    private void Drain()
    {
        byte[] buffer = new byte[4096];
        while (!_stopping)
        {
            int n = _pty.ReadOutput(buffer, 50);
            if (n > 0)
            {
                lock (_output)
                {
                    _output.AddRange(buffer.AsSpan(0, n).ToArray());
                }
            }
            else if (n < 0)
            {
                Thread.Sleep(20);
            }
        }
    }
}
