using System.Globalization;
using System.Text;

namespace LguestSim.Engine.Loader;

/// <summary>
/// Keeps user-supplied words (file names, arguments) from breaking a one-line message:
/// control characters are shown as C escapes.
/// </summary>
internal static class MessageText
{
    /// <summary><paramref name="text"/> with every control character written as <c>\n</c>, <c>\t</c> or <c>\xHH</c>.</summary>
    public static string Escape(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1f') && !text.Contains('\x7f', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7f': sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    /// <summary>An exception's message folded onto one line.</summary>
    public static string OneLine(Exception ex) => Escape(ex.Message.Trim());
}
