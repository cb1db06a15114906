using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LguestSim.Backends.Simulated.Transcript;

/// <summary>
/// The canonical record of a simulated run: what the guest saw and what the Launcher did,
/// one event a line, in guest order. No timestamps, no host paths, invariant formatting.
/// </summary>
public sealed class Transcript
{
    private readonly StringBuilder _text = new();
    private readonly object _gate = new();
    private readonly TextWriter? _echo;
    private long _leftOut;

    /// <summary>Creates an empty transcript; with <paramref name="echo"/>, each line is also written there as it happens.</summary>
    public Transcript(TextWriter? echo = null) => _echo = echo;

    /// <summary>Most characters kept (32 Mi): a hostile guest cannot grow the transcript past it.</summary>
    public const int MaxChars = 32 << 20;

    /// <summary>Appends one line, unless the transcript is full (then the line is counted as left out).</summary>
    public void Line(string line)
    {
        lock (_gate)
        {
            if (_text.Length + line.Length + 1 > MaxChars)
            {
                _leftOut++;
                return;
            }

            _text.Append(line).Append('\n');
            _echo?.Write(line + "\n");
        }
    }

    /// <summary>
    /// Appends one of the run's closing lines, which are kept even when the transcript is
    /// full; the first says how many lines were left out, if any were.
    /// </summary>
    public void Closing(string line)
    {
        lock (_gate)
        {
            if (_leftOut > 0)
            {
                string note = $"transcript: {_leftOut.ToString(CultureInfo.InvariantCulture)} lines left out (over {MaxChars >> 20} Mi characters)";
                _text.Append(note).Append('\n');
                _echo?.Write(note + "\n");
                _leftOut = 0;
            }

            _text.Append(line).Append('\n');
            _echo?.Write(line + "\n");
        }
    }

    /// <summary>Appends a multi-line block, each line indented by two spaces.</summary>
    public void Block(string text)
    {
        foreach (string l in text.TrimEnd('\n').Split('\n'))
        {
            Line("  " + l);
        }
    }

    /// <summary>The whole text.</summary>
    public override string ToString()
    {
        lock (_gate)
        {
            return _text.ToString();
        }
    }

    /// <summary>Hex with the 0x prefix, invariant.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>The first 16 hex digits of the SHA-256 of <paramref name="data"/>: a short, stable data digest.</summary>
    public static string Digest(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>Bytes as a quoted C-style string: printable ASCII kept, the rest escaped.</summary>
    public static string Quote(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in data)
        {
            switch (b)
            {
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                default:
                    if (b >= 0x20 && b < 0x7f)
                    {
                        sb.Append((char)b);
                    }
                    else
                    {
                        sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
