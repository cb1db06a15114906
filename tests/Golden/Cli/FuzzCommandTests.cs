using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>`lguestsim fuzz`: bad options are one line and exit 1; a short run prints its matrix and exits 0.</summary>
public sealed class FuzzCommandTests
{
    [Theory]
    [InlineData(new[] { "fuzz", "--mode", "sometimes" }, "sometimes")]
    [InlineData(new[] { "fuzz", "--device", "floppy" }, "floppy")]
    [InlineData(new[] { "fuzz", "--class", "nope" }, "unknown class 'nope'")]
    [InlineData(new[] { "fuzz", "--execs", "0" }, "--execs")]
    [InlineData(new[] { "fuzz", "--seconds", "-1" }, "--seconds")]
    [InlineData(new[] { "fuzz", "--seconds", "1", "--execs", "5" }, "not both")]
    [InlineData(new[] { "fuzz", "--device", "console", "--class", "blk-scsi" }, "applies")]
    public void BadOption_OneLine_Exit1(string[] args, string expected)
    {
        CliProcess.Result r = CliProcess.Run(args);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("lguestsim: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortRun_PrintsMatrix_Exit0()
    {
        string dir = Directory.CreateTempSubdirectory("lguestsim-fuzz-").FullName;
        try
        {
            CliProcess.Result r = CliProcess.Run(["fuzz", "--execs", "2000", "--seed", "4", "--save", dir]);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("2000 executions", r.Stdout, StringComparison.Ordinal);
            Assert.Contains("22/22 classes hit", r.Stdout, StringComparison.Ordinal);
            Assert.Contains("loop ", r.Stdout, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
