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

    /// <summary>Three runs: each figure is positive and finite, and the last line is their median.</summary>
    [Fact]
    public void BenchVring_ThreeRuns_PrintsTheMedianOfThePerRunFigures()
    {
        CliProcess.Result r = CliProcess.Run("bench", "vring", "--chains", "20000", "--runs", "3");
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(6, lines.Length);
        Assert.Equal("checksum=81920000", lines[1]);
        double[] runs = [.. lines[2..5].Select((l, i) => Figure(l, $"run {i + 1}: ns_per_chain="))];
        Assert.All(runs, v => Assert.True(v > 0 && v < 1e6, $"{v} ns per chain"));
        double median = Figure(lines[5], "ns_per_chain=");
        Assert.Equal(runs.Order().ElementAt(1), median, 2);
    }

    /// <summary>
    /// A short <c>bench block</c> run: three rounds, then the raw and guest rates, each the
    /// median of its rounds, requests per second that match MiB per second at 64 KiB a read, and
    /// the ratio of the two last.
    /// </summary>
    [Fact]
    public void BenchBlock_SmallRun_PrintsConsistentFiguresAndRatioLast()
    {
        CliProcess.Result r = CliProcess.Run("bench", "block", "--size-mib", "2", "--total-mib", "2", "--depth", "4", "--no-pin");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(string.Empty, r.Stderr);
        string[] lines = r.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(7, lines.Length);
        Assert.Equal("file=2MiB request=64KiB pattern=seq depth=4 total=2MiB pin=off", lines[0]);
        var rawRounds = new List<double>();
        var guestRounds = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(lines[1 + i], $@"^round {i + 1}: raw (\d+) MiB/s, guest (\d+) MiB/s$");
            Assert.True(m.Success, lines[1 + i]);
            rawRounds.Add(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            guestRounds.Add(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        (double rawMib, double rawReq) = Rates(lines[4], "raw pread (C# loop, one buffer): ");
        (double guestMib, double guestReq) = Rates(lines[5], "guest via block device: ");
        Assert.True(rawMib > 0 && guestMib > 0, r.Stdout);
        Assert.Equal(rawRounds.Order().ElementAt(1), rawMib);
        Assert.Equal(guestRounds.Order().ElementAt(1), guestMib);

        // 16 reads of 64 KiB to the MiB; the printed rates are rounded to whole numbers.
        Assert.InRange(rawReq, (rawMib - 1) * 16, (rawMib + 1) * 16);
        Assert.InRange(guestReq, (guestMib - 1) * 16, (guestMib + 1) * 16);
        double ratio = Figure(lines[6], "ratio=");
        Assert.InRange(ratio, (guestMib / rawMib) - 0.02, (guestMib / rawMib) + 0.02);
    }

    private static double Figure(string line, string prefix)
    {
        Assert.StartsWith(prefix, line, StringComparison.Ordinal);
        return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    private static (double Mib, double Requests) Rates(string line, string prefix)
    {
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(line, "^" + System.Text.RegularExpressions.Regex.Escape(prefix) + @"mib_per_s=(\d+) req_per_s=(\d+)$");
        Assert.True(m.Success, line);
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
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
