using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>
/// Issue 13 item 7: a word that was not understood is named, a path says what is wrong with
/// it, and bench options are checked against the limits they imply — one line, exit 1.
/// </summary>
public sealed class CommandLineMessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(new[] { "sim", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "sim", "-x" }, "unknown option '-x'")]
    [InlineData(new[] { "bogus" }, "'bogus' is not a command")]
    [InlineData(new[] { "bench", "frob" }, "'frob' is not a command")]
    [InlineData(new[] { "sim", "--block", "DIR" }, "is a directory")]
    [InlineData(new[] { "sim", "--scenario", "DIR" }, "is a directory")]
    [InlineData(new[] { "sim", "--kernel", "DIR" }, "is a directory")]
    [InlineData(new[] { "sim", "--guest-errors=bogus" }, "--guest-errors must be exit or isolate, not 'bogus'")]
    [InlineData(new[] { "sim", "--guest-errors", "Isolate" }, "--guest-errors must be exit or isolate")]
    [InlineData(new[] { "run", "--guest-errors=kill", "64", "vmlinux" }, "--guest-errors must be exit or isolate, not 'kill'")]
    [InlineData(new[] { "bench", "block", "--request-kib", "65536", "--depth", "42" }, "--request-kib")]
    [InlineData(new[] { "bench", "block", "--request-kib", "2097152", "--size-mib", "4096" }, "--request-kib")]
    public void BadCommandLine_OneLineNamingTheProblem_Exit1(string[] args, string expected)
    {
        string[] real = args.Select(a => a == "DIR" ? _dir : a).ToArray();
        CliProcess.Result r = CliProcess.Run(real);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("lguestsim: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.Stdout + r.Stderr, StringComparison.Ordinal);
    }
}
