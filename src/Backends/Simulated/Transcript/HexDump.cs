using System.Globalization;
using System.Text;

namespace LguestSim.Backends.Simulated.Transcript;

/// <summary>A canonical hex dump: 16 bytes a line, runs of all-zero lines folded to "*".</summary>
public static class HexDump
{
    /// <summary>Formats <paramref name="bytes"/> with offsets starting at <paramref name="baseAddress"/>.</summary>
    public static string Format(ReadOnlySpan<byte> bytes, ulong baseAddress = 0)
    {
        var sb = new StringBuilder();
        bool folded = false;
        for (int off = 0; off < bytes.Length; off += 16)
        {
            ReadOnlySpan<byte> line = bytes.Slice(off, Math.Min(16, bytes.Length - off));
            if (line.IndexOfAnyExcept((byte)0) < 0 && off != 0 && off + 16 < bytes.Length)
            {
                if (!folded)
                {
                    sb.Append("*\n");
                    folded = true;
                }

                continue;
            }

            folded = false;
            sb.Append((baseAddress + (ulong)off).ToString("x8", CultureInfo.InvariantCulture)).Append(' ');
            foreach (byte b in line)
            {
                sb.Append(' ').Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }
}
