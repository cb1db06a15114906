using System.Diagnostics;
using LguestSim.Tests.Golden.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>
/// Issue 13 item 6: <c>--transcript PATH</c> writes to what the user named — a regular file
/// replaced atomically, a FIFO or device node written in place — and never leaves a
/// temporary file; a file that cannot be written is one line.
/// </summary>
public sealed class TranscriptFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-transcript-").FullName;

    private static string Panic => Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios", "panic.scenario");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RegularFile_IsReplaced_NoTemporaryFileLeft()
    {
        string path = Path.Combine(_dir, "out.transcript");
        File.WriteAllText(path, "old contents that are longer than nothing at all\n");
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", Panic, "--transcript", path);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("scenario panic\n", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public async Task Fifo_IsWrittenInPlace_StaysAFifo()
    {
        string path = Path.Combine(_dir, "pipe");
        Shell("mkfifo", path);
        Task<string> reader = Task.Run(() => File.ReadAllText(path));
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", Panic, "--transcript", path);
        Assert.Equal(1, r.ExitCode);
        string text = await reader.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("scenario panic\n", text, StringComparison.Ordinal);
        Assert.Equal("fifo", Shell("stat", "-c", "%F", path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void FullDevice_IsOneLine_StaysADevice_NoTemporaryFileLeft()
    {
        // A node like /dev/full (char 1:7; the test runs as root), in a directory of our own.
        string path = Path.Combine(_dir, "full");
        Shell("mknod", path, "c", "1", "7");
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", Panic, "--transcript", path);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"lguestsim: cannot write {path}: ", line, StringComparison.Ordinal);
        Assert.Equal("character special file", Shell("stat", "-c", "%F", path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void MissingDirectory_IsOneLineNamingThePath()
    {
        string path = Path.Combine(_dir, "no-such-dir", "out.transcript");
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", Panic, "--transcript", path);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"lguestsim: cannot write {path}: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", line, StringComparison.Ordinal);
    }

    private static string Shell(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.Trim();
    }
}
