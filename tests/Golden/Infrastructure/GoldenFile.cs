using System.Text;
using Xunit.Sdk;

namespace LguestSim.Tests.Golden.Infrastructure;

/// <summary>
/// Our small stand-in for Verify: compares text with fixtures/expected/&lt;name&gt;, writes
/// &lt;name&gt;.received.&lt;ext&gt; beside it on a mismatch, and accepts the new text when
/// LGUESTSIM_ACCEPT=1.
/// </summary>
public static class GoldenFile
{
    private const int Context = 3;

    /// <summary>The repository root (the folder holding LguestSim.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>fixtures/expected.</summary>
    public static string ExpectedDir => Path.Combine(RepoRoot, "fixtures", "expected");

    /// <summary>Whether LGUESTSIM_ACCEPT=1 is set.</summary>
    public static bool Accepting => Environment.GetEnvironmentVariable("LGUESTSIM_ACCEPT") == "1";

    /// <summary>
    /// Asserts that <paramref name="actual"/> equals fixtures/expected/<paramref name="fileName"/>
    /// byte for byte (UTF-8, \n line ends).
    /// </summary>
    public static void Verify(string fileName, string actual)
    {
        string expectedPath = Path.Combine(ExpectedDir, fileName);
        string receivedPath = ReceivedPath(expectedPath);
        if (Accepting)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(expectedPath)!);
            File.WriteAllText(expectedPath, actual, new UTF8Encoding(false));
            File.Delete(receivedPath);
            return;
        }

        string? expected = File.Exists(expectedPath) ? File.ReadAllText(expectedPath, Encoding.UTF8) : null;
        if (expected == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(receivedPath)!);
        File.WriteAllText(receivedPath, actual, new UTF8Encoding(false));
        string message = expected is null
            ? $"no verified file {Relative(expectedPath)}; received text written to {Relative(receivedPath)}; run with LGUESTSIM_ACCEPT=1 to accept it"
            : $"{Relative(expectedPath)} differs; received text written to {Relative(receivedPath)}\n{FirstDifference(expected, actual)}";
        throw new XunitException(message);
    }

    /// <summary>The first differing line with three lines of context on each side.</summary>
    public static string FirstDifference(string expected, string actual)
    {
        string[] e = expected.Split('\n');
        string[] a = actual.Split('\n');
        int i = 0;
        while (i < e.Length && i < a.Length && e[i] == a[i])
        {
            i++;
        }

        var sb = new StringBuilder();
        sb.Append("first difference at line ").Append(i + 1).Append('\n');
        for (int k = Math.Max(0, i - Context); k < i; k++)
        {
            sb.Append("  ").Append(e[k]).Append('\n');
        }

        for (int k = i; k < Math.Min(e.Length, i + Context + 1); k++)
        {
            sb.Append("- ").Append(e[k]).Append('\n');
        }

        for (int k = i; k < Math.Min(a.Length, i + Context + 1); k++)
        {
            sb.Append("+ ").Append(a[k]).Append('\n');
        }

        return sb.ToString();
    }

    private static string ReceivedPath(string expectedPath)
    {
        string ext = Path.GetExtension(expectedPath);
        return Path.ChangeExtension(expectedPath, null) + ".received" + ext;
    }

    private static string Relative(string path) => Path.GetRelativePath(RepoRoot, path);

    private static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "LguestSim.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("cannot find LguestSim.sln above the test binaries");
    }
}
