using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Interop;
using LguestSim.Host.Waking;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Terminal;

/// <summary>
/// The console's host side for real runs: the process's standard input and output. Input is
/// one <c>readv</c> straight into the guest's buffers, output one <c>writev</c> straight from
/// them; when standard input is a terminal it is put in raw mode for the run
/// (<see cref="RawTerminal"/>).
/// </summary>
/// <remarks>Spec §5.1; lguest.c <c>setup_console()</c>, <c>handle_console_input()</c>, <c>handle_console_output()</c>.</remarks>
public sealed class TerminalConsolePort : IConsolePort, IDisposable
{
    private readonly SafeFileHandle _input;
    private readonly SafeFileHandle _output;
    private readonly FdInputSource _source;
    private readonly RawTerminal? _raw;

    /// <summary>
    /// Creates the port over <paramref name="input"/> and <paramref name="output"/> (the
    /// caller keeps owning both). If <paramref name="input"/> is a terminal, it is raw from now
    /// until <see cref="Dispose"/> or <see cref="InputFailed"/>.
    /// </summary>
    /// <exception cref="IOException">The terminal's settings cannot be changed.</exception>
    public TerminalConsolePort(SafeFileHandle input, SafeFileHandle output)
    {
        _input = input;
        _output = output;
        _source = new FdInputSource(input);
        _raw = RawTerminal.TryEnter(input);
    }

    /// <summary>The terminal hold, or null when standard input is not a terminal (and was left alone).</summary>
    public RawTerminal? Terminal => _raw;

    /// <inheritdoc/>
    public InputSource Input => _source;

    /// <summary>A port over this process's fd 0 and fd 1 (not closed by <see cref="Dispose"/>).</summary>
    /// <exception cref="IOException">Standard input is a terminal whose settings cannot be changed.</exception>
    public static TerminalConsolePort OpenStandard() =>
        new(new SafeFileHandle(new IntPtr(0), ownsHandle: false), new SafeFileHandle(new IntPtr(1), ownsHandle: false));

    /// <inheritdoc/>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => GuestStreamIo.ReadOnce(_input, memory, buffers);

    /// <inheritdoc/>
    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => GuestStreamIo.WriteOnce(_output, memory, buffers);

    /// <inheritdoc/>
    public void InputFailed() => _raw?.Restore();

    /// <summary>Restores the terminal (if it was changed) and removes the exit hooks.</summary>
    public void Dispose() => _raw?.Dispose();
}
