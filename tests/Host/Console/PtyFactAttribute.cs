using LguestSim.Host.Terminal;
using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.ConsoleTests;

/// <summary>
/// A fact that needs a real pseudo-terminal and the <c>setsid</c> and <c>sh</c> commands. It is
/// skipped, with the reason shown, only when one of them is truly missing (CI has them all).
/// </summary>
public sealed class PtyFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    /// <summary>Marks the test skipped when a pty cannot be had here.</summary>
    public PtyFactAttribute()
    {
        if (s_missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? FindMissing()
    {
        foreach (string tool in new[] { "setsid", "sh" })
        {
            if (!Requires.OnPath(tool))
            {
                return $"'{tool}' is not installed (util-linux / a POSIX shell)";
            }
        }

        try
        {
            using PseudoTerminal pty = PseudoTerminal.Open();
            return null;
        }
        catch (IOException e)
        {
            return $"no pseudo-terminal available: {e.Message}";
        }
    }
}
