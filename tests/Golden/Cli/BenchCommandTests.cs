using System.Globalization;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>
/// `lguestsim bench vring` works end to end: every chain goes through the engine's ring and
/// the figure is printed last. Only that it runs and adds up; its speed is for the benchmark.
/// </summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void BenchVring_SmallRun_CompletesEveryChainAndPrintsFigureLast()
    {
        CliProcess.Result r = CliProcess.Run("bench", "vring", "--chains", "100000", "--runs", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(string.Empty, r.Stderr);

        string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Equal("chains=100000", lines[0]);

        // Every header's sector is 0 and every data buffer is 4096 bytes: the C program's sum.
        Assert.Equal("checksum=409600000", lines[1]);
        Assert.StartsWith("run 1: ns_per_chain=", lines[2]);
        Assert.StartsWith("run 2: ns_per_chain=", lines[3]);
        Assert.StartsWith("ns_per_chain=", lines[4]);
        double median = double.Parse(lines[4]["ns_per_chain=".Length..], CultureInfo.InvariantCulture);
        Assert.True(median > 0, lines[4]);
    }

    [Theory]
    [InlineData("--chains", "0")]
    [InlineData("--runs", "-1")]
    [InlineData("--runs", "two")]
    public void BenchVring_BadCount_OneLine_Exit1(string option, string value)
    {
        CliProcess.Result r = CliProcess.Run("bench", "vring", option, value);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(option, line);
    }

    [Fact]
    public void BenchBlock_FileMissing_MadeReadAndKept_ThenAnyOtherFileRefused()
    {
        string dir = Directory.CreateTempSubdirectory("lguestsim-benchfile-").FullName;
        try
        {
            string disk = Path.Combine(dir, "disk.img");
            CliProcess.Result r = CliProcess.Run("bench", "block", "--file", disk, "--size-mib", "2", "--total-mib", "2", "--depth", "4", "--no-pin");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.StartsWith("file=2MiB ", r.Stdout, StringComparison.Ordinal);
            Assert.Equal(2L << 20, new FileInfo(disk).Length);

            // Kept, and read again as it is: its size wins over --size-mib.
            r = CliProcess.Run("bench", "block", "--file", disk, "--size-mib", "64", "--total-mib", "2", "--depth", "4", "--no-pin");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.StartsWith("file=2MiB ", r.Stdout, StringComparison.Ordinal);

            // A file it did not make: the guest's checks could not pass, so it is refused at once.
            string other = Path.Combine(dir, "other.img");
            File.WriteAllBytes(other, new byte[1 << 20]);
            r = CliProcess.Run("bench", "block", "--file", other, "--total-mib", "1");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal(string.Empty, r.Stdout);
            Assert.Equal($"lguestsim: {other} was not made by bench block --file (a whole number of MiB, each 8-byte word holding its own offset)", Assert.Single(r.Stderr.TrimEnd('\n').Split('\n')));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
