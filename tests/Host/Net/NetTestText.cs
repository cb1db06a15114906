using System.Text.RegularExpressions;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>Helpers for reading a sim run's output in the net tests.</summary>
public static partial class NetTestText
{
    /// <summary>The repository root (the folder holding LguestSim.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Asserts that the <paramref name="lines"/> occur in <paramref name="text"/>, each as a whole line, in this order.</summary>
    public static void AssertLinesInOrder(string text, params string[] lines)
    {
        string[] all = text.Split('\n');
        int at = 0;
        foreach (string line in lines)
        {
            int found = Array.IndexOf(all, line, at);
            Assert.True(found >= 0, $"line not found (in order, after line {at}): {line}\n--- output ---\n{text}");
            at = found + 1;
        }
    }

    /// <summary>The index of the first line starting with <paramref name="prefix"/>, or -1.</summary>
    public static int LineIndex(string text, string prefix) =>
        Array.FindIndex(text.Split('\n'), l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The "tap: NAME (...), host MAC X, guest MAC Y" line sim prints for a real tap.</summary>
    public static (string Name, string HostMac, string GuestMac) TapLine(string stdout)
    {
        Match m = TapLineRegex().Match(stdout);
        Assert.True(m.Success, $"no tap line in:\n{stdout}");
        return (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value);
    }

    /// <summary>Writes a scenario to a file in <paramref name="dir"/> and returns its path.</summary>
    public static string WriteScenario(string dir, string name, string text)
    {
        string path = Path.Combine(dir, name + ".scenario");
        File.WriteAllText(path, text);
        return path;
    }

    [GeneratedRegex(@"^tap: (\S+) \(.*\), host MAC ([0-9a-f:]{17}), guest MAC ([0-9a-f:]{17})$", RegexOptions.Multiline)]
    private static partial Regex TapLineRegex();

    private static string FindRepoRoot()
    {
        for (string? d = AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(Path.Combine(d, "LguestSim.sln")))
            {
                return d;
            }
        }

        throw new InvalidOperationException("LguestSim.sln not found above the test binaries");
    }
}
