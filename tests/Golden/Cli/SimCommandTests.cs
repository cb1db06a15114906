using LguestSim.Tests.Golden.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>`lguestsim sim` as a user runs it.</summary>
public sealed class SimCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Sim_NoArguments_RunsDefaultScenarioAndPowersOffCleanly()
    {
        CliProcess.Result r = CliProcess.Run("sim");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(string.Empty, r.Stderr);
        foreach (string device in new[] { "net", "block", "console" })
        {
            Assert.Contains($"guest: {device} status 0x7 (ACKNOWLEDGE|DRIVER|DRIVER_OK)", r.Stdout);
        }

        Assert.Contains("console> \"Hello from the simulated 2.6.25 guest\\n\"", r.Stdout);
        Assert.Contains("guest: block read #3 verified seed:1", r.Stdout);
        Assert.Contains("guest: block read #4 verified fill:0xa5", r.Stdout);
        Assert.Contains("host: tap got len=60", r.Stdout);
        Assert.Contains("guest: net rx head=0 len=108", r.Stdout);
        Assert.Contains("end: guest died: CRASH: Power down", r.Stdout);
        Assert.Contains("outcome: the guest powered off cleanly; exit status 0", r.Stdout);

        // The default is the committed full-boot fixture, so its transcript is the golden one.
        string golden = File.ReadAllText(Path.Combine(GoldenFile.ExpectedDir, "scenarios", "full-boot.transcript"));
        Assert.StartsWith(golden.Replace("fixtures/scenarios/full-boot.scenario", "<built-in full-boot.scenario>", StringComparison.Ordinal), r.Stdout);
    }

    [Theory]
    [InlineData("boot\nfrobnicate 3\n", ":2: unknown verb 'frobnicate'")]
    [InlineData("block size=12q\n", ":1: bad number '12q' for size")]
    [InlineData("boot\nblock.read sector=x\n", ":2: bad number 'x' for sector")]
    [InlineData("boot\nconsole.write \"unterminated\n", ":2: unterminated string")]
    [InlineData("boot\nmemory 64\n", ":2: 'memory' is a setup line")]
    [InlineData("block file=no-such-disk.img\n", ":1: block file 'no-such-disk.img' does not exist")]
    [InlineData("boot\nreset floppy\n", ":2: unknown device 'floppy'")]
    public void Sim_BadScenario_OneLineWithFileAndLine_Exit1(string text, string expected)
    {
        string path = Path.Combine(_dir, "bad.scenario");
        File.WriteAllText(path, text);
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"lguestsim: {path}", line);
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Sim_MissingScenarioFile_OneLine_Exit1()
    {
        string path = Path.Combine(_dir, "missing.scenario");
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", path);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"lguestsim: {path}: cannot read scenario", line);
    }

    [Fact]
    public void Sim_Transcript_WritesTheSameTextAsPrinted()
    {
        string transcript = Path.Combine(_dir, "out.transcript");
        CliProcess.Result r = CliProcess.Run("sim", "--scenario", Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios", "panic.scenario"), "--transcript", transcript);
        Assert.Equal(1, r.ExitCode);
        string written = File.ReadAllText(transcript);
        Assert.EndsWith("end: guest died: CRASH: Attempted to kill init!\nexit status 1\n", written);
        Assert.StartsWith(written, r.Stdout);
    }

    [Fact]
    public void Sim_BlockOption_UsesAndKeepsTheGivenFile()
    {
        string disk = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(disk, new byte[64 * 1024]);
        CliProcess.Result r = CliProcess.Run("sim", "--block", disk);
        Assert.Equal(0, r.ExitCode);

        // The default scenario wrote seed:1 at sector 0 and 0xa5 at sector 64.
        byte[] after = File.ReadAllBytes(disk);
        Assert.Equal(64 * 1024, after.Length);
        Assert.All(after.AsSpan(64 * 512, 16 * 512).ToArray(), b => Assert.Equal(0xa5, b));
    }

    [Fact]
    public void Sim_Help_ExplainsEveryOption()
    {
        CliProcess.Result r = CliProcess.Run("sim", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (string option in new[] { "--scenario", "--block", "--transcript", "--verbose" })
        {
            Assert.Contains(option, r.Stdout);
        }
    }
}
