using System.Globalization;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>
/// Deterministic test data: <c>fill:HH</c> (one byte repeated) or <c>seed:N</c> (a
/// xorshift stream), so scenarios can write data and check it read back by name.
/// </summary>
/// <param name="IsFill">True for a fill byte, false for a seeded stream.</param>
/// <param name="Value">The fill byte or the seed.</param>
public sealed record DataPattern(bool IsFill, ulong Value)
{
    /// <summary>
    /// Parses <c>fill:HH</c> (one byte in hex: one or two hex digits, <c>0x</c> allowed),
    /// <c>seed:N</c> (decimal or <c>0x</c> hex), or a bare <c>HH</c> as a fill byte.
    /// </summary>
    public static bool TryParse(string text, out DataPattern pattern)
    {
        pattern = null!;
        if (text.StartsWith("seed:", StringComparison.Ordinal) && ScenarioParser.TryParseNumber(text[5..], out ulong seed))
        {
            pattern = new DataPattern(false, seed);
            return true;
        }

        string fill = text.StartsWith("fill:", StringComparison.Ordinal) ? text[5..] : text;
        if (fill.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            fill = fill[2..];
        }

        if (fill.Length is 1 or 2 && byte.TryParse(fill, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
        {
            pattern = new DataPattern(true, b);
            return true;
        }

        return false;
    }

    /// <summary>The first <paramref name="length"/> bytes of the pattern.</summary>
    public byte[] Generate(int length)
    {
        byte[] data = new byte[length];
        if (IsFill)
        {
            Array.Fill(data, (byte)Value);
            return data;
        }

        ulong x = Value * 0x9E3779B97F4A7C15UL | 1;
        for (int i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data[i] = (byte)x;
        }

        return data;
    }

    /// <inheritdoc/>
    public override string ToString() => IsFill
        ? "fill:0x" + Value.ToString("x2", CultureInfo.InvariantCulture)
        : "seed:" + Value.ToString(CultureInfo.InvariantCulture);
}
