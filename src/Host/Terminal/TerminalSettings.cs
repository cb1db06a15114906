using System.Globalization;
using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Terminal;

/// <summary>
/// A snapshot of a terminal's settings (<c>struct termios</c>), as <c>tcgetattr</c> filled
/// it: the whole structure is kept so that putting it back restores every field, and two
/// snapshots are equal when every byte is.
/// </summary>
public sealed class TerminalSettings : IEquatable<TerminalSettings>
{
    private readonly byte[] _image;

    internal TerminalSettings(byte[] image, uint inputModes, uint outputModes, uint controlModes, uint localModes)
    {
        _image = image;
        InputModes = inputModes;
        OutputModes = outputModes;
        ControlModes = controlModes;
        LocalModes = localModes;
    }

    /// <summary><c>c_iflag</c>.</summary>
    public uint InputModes { get; }

    /// <summary><c>c_oflag</c>.</summary>
    public uint OutputModes { get; }

    /// <summary><c>c_cflag</c>.</summary>
    public uint ControlModes { get; }

    /// <summary><c>c_lflag</c>.</summary>
    public uint LocalModes { get; }

    /// <summary>ISIG: the interrupt, quit and suspend keys raise signals.</summary>
    public bool SignalKeys => (LocalModes & Sys.LocalModeSignals) != 0;

    /// <summary>ICANON: input is delivered a line at a time.</summary>
    public bool Canonical => (LocalModes & Sys.LocalModeCanonical) != 0;

    /// <summary>ECHO: typed characters are echoed.</summary>
    public bool Echo => (LocalModes & Sys.LocalModeEcho) != 0;

    /// <summary>The raw <c>struct termios</c> bytes.</summary>
    internal ReadOnlySpan<byte> Image => _image;

    /// <summary>Reads the settings of the terminal open on <paramref name="handle"/>.</summary>
    /// <returns>False when <paramref name="handle"/> is not a terminal (or tcgetattr fails otherwise).</returns>
    public static bool TryRead(SafeFileHandle handle, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TerminalSettings? settings) =>
        Sys.GetTerminalAttributes(handle, out settings) == 0;

    /// <summary>Reads the settings of the terminal open on <paramref name="handle"/>.</summary>
    /// <exception cref="IOException">tcgetattr failed (e.g. not a terminal).</exception>
    public static TerminalSettings Read(SafeFileHandle handle)
    {
        int rc = Sys.GetTerminalAttributes(handle, out TerminalSettings? settings);
        return rc == 0 ? settings! : throw new IOException($"tcgetattr failed (errno {-rc})");
    }

    /// <summary>Applies these settings to the terminal open on <paramref name="handle"/> at once (TCSANOW).</summary>
    /// <exception cref="IOException">tcsetattr failed.</exception>
    public void Apply(SafeFileHandle handle)
    {
        int rc = Sys.SetTerminalAttributes(handle, this);
        if (rc != 0)
        {
            throw new IOException($"tcsetattr failed (errno {-rc})");
        }
    }

    /// <inheritdoc/>
    public bool Equals(TerminalSettings? other) => other is not null && _image.AsSpan().SequenceEqual(other._image);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TerminalSettings);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputModes, OutputModes, ControlModes, LocalModes);

    /// <summary>The four mode words and the control characters, in hex.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"iflag=0x{InputModes:x} oflag=0x{OutputModes:x} cflag=0x{ControlModes:x} lflag=0x{LocalModes:x} image={Convert.ToHexString(_image)}");
}
