using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Terminal;

/// <summary>
/// A pseudo-terminal pair (<c>posix_openpt</c>): the master end plays the user's keyboard and
/// screen, the slave end is a real terminal to give a Launcher as its standard input and
/// output. Tests use it to check what the Launcher does to a terminal.
/// </summary>
/// <remarks>
/// Both ends are close-on-exec, and the slave is opened with <c>O_NOCTTY</c>: it never
/// becomes this process's controlling terminal. Keeping the slave open here also keeps the
/// terminal (and its settings) alive after a child that used it has exited.
/// </remarks>
public sealed class PseudoTerminal : IDisposable
{
    private PseudoTerminal(SafeFileHandle master, SafeFileHandle slave, string slavePath)
    {
        Master = master;
        Slave = slave;
        SlavePath = slavePath;
    }

    /// <summary>The master end: what is written here is typed on the terminal; the terminal's output is read here.</summary>
    public SafeFileHandle Master { get; }

    /// <summary>The slave end, open in this process.</summary>
    public SafeFileHandle Slave { get; }

    /// <summary>The slave's device path (<c>/dev/pts/N</c>).</summary>
    public string SlavePath { get; }

    /// <summary>Opens a new pair.</summary>
    /// <exception cref="IOException">The system has no pseudo-terminals to give (the message names the failing call).</exception>
    public static PseudoTerminal Open()
    {
        (SafeFileHandle master, SafeFileHandle slave, string path) = Sys.OpenPseudoTerminal();
        return new PseudoTerminal(master, slave, path);
    }

    /// <summary>Types <paramref name="data"/> (one write to the master).</summary>
    /// <returns>Bytes written, or a negative errno.</returns>
    public int Type(ReadOnlySpan<byte> data) => GuestStreamIo.WriteOnce(Master, data);

    /// <summary>Reads what the terminal has output, waiting up to <paramref name="timeoutMs"/> for something to arrive.</summary>
    /// <returns>Bytes read; 0 when nothing came in time; a negative errno (EIO once no slave is open).</returns>
    public int ReadOutput(Span<byte> buffer, int timeoutMs)
    {
        Span<bool> readable = stackalloc bool[1];
        int ready = Sys.PollReadable([Master], readable, timeoutMs);
        if (ready < 0)
        {
            return ready;
        }

        return ready == 0 ? 0 : GuestStreamIo.ReadOnce(Master, buffer);
    }

    /// <summary>Closes both ends.</summary>
    public void Dispose()
    {
        Slave.Dispose();
        Master.Dispose();
    }
}
