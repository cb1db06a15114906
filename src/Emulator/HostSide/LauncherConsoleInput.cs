using LguestSim.Backends.Simulated.Scenarios;

namespace LguestSim.Emulator.HostSide;

/// <summary>
/// The write end of the Launcher's standard input when it is a FIFO: opened once, at the
/// server's start-up, and held across reboots (a re-executed Launcher keeps the same stdin).
/// </summary>
/// <remarks>
/// The FIFO is opened read-write. On Linux that open never blocks, whether or not a reader is
/// there yet, so neither this server nor the Launcher's shell (<c>&lt; FIFO</c> waits for a
/// writer) waits on the other; and while it is open the Launcher never sees end of file. Only
/// <see cref="Close"/> (<c>host.console.eof</c>) lets it see one. The FIFO's buffer (64 KiB)
/// holds far more than a scenario types before the guest reads it.
/// </remarks>
public sealed class LauncherConsoleInput : IDisposable
{
    private readonly string _path;
    private FileStream? _stream;

    private LauncherConsoleInput(string path, FileStream stream)
    {
        _path = path;
        _stream = stream;
    }

    /// <summary>Whether <see cref="Close"/> was called.</summary>
    public bool IsClosed => _stream is null;

    /// <summary>Opens the FIFO (or file) at <paramref name="path"/> read-write.</summary>
    /// <exception cref="IOException">It cannot be opened.</exception>
    public static LauncherConsoleInput Open(string path)
    {
        try
        {
            return new LauncherConsoleInput(path, new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot open the console input {path}: {e.Message}", e);
        }
    }

    /// <summary>Writes <paramref name="data"/> for the Launcher to read. After <see cref="Close"/> the bytes go nowhere, as typing into a closed input does.</summary>
    /// <exception cref="ScenarioHostException">The write failed.</exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_path)
        {
            if (_stream is null)
            {
                return;
            }

            try
            {
                _stream.Write(data);
            }
            catch (IOException e)
            {
                throw new ScenarioHostException($"cannot write to the console input {_path}: {e.Message}", e);
            }
        }
    }

    /// <summary>Closes the write end: the Launcher's next read returns end of file.</summary>
    public void Close()
    {
        lock (_path)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Close();
}
