using System.Security.Cryptography;
using LguestSim.Tests.Golden.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>
/// `lguestsim run` refused before a guest exists: every case is one line on stderr, nothing
/// on stdout, exit status 1, no stack trace, and nothing left behind. (Runs against a real
/// device are the emulated device's tests.)
/// </summary>
public sealed class RunCommandTests : IDisposable
{
    private static readonly string s_kernel = Path.Combine(GoldenFile.RepoRoot, "fixtures", "kernels", "vmlinux.elf");
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void NoDeviceFile_OneLine_Exit1()
    {
        string line = OneLineFailure("--device=/nonexistent/lguest", "64", s_kernel);
        Assert.Equal("lguestsim: cannot open /nonexistent/lguest: No such file or directory", line);
    }

    [Fact]
    public void DeviceIsNotLguest_OneLine_Exit1()
    {
        // /dev/null takes the 20-byte INITIALIZE whole (20, where lg.ko answers 16).
        string line = OneLineFailure("--device", "/dev/null", "64", s_kernel, "console=hvc0");
        Assert.Equal("lguestsim: /dev/null: not an lguest device (LHREQ_INITIALIZE returned 20, not 16)", line);
    }

    [Theory]
    [InlineData("abc", "lguestsim: memory size 'abc' is not a whole number of MiB")]
    [InlineData("0", "lguestsim: memory size 0 MiB is too small: at least 1 MiB")]
    [InlineData("99999", "lguestsim: memory size 99999 MiB is too large")]
    public void BadMemory_OneLine_Exit1(string memory, string expected)
    {
        string line = OneLineFailure("--device=/dev/null", memory, s_kernel);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingKernel_OneLine_Exit1()
    {
        string missing = Path.Combine(_dir, "no-vmlinux");
        string line = OneLineFailure("--device=/dev/null", "64", missing);
        Assert.StartsWith("lguestsim: ", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.Contains("cannot open", line, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingBlockFile_OneLine_Exit1_NotCreated()
    {
        string missing = Path.Combine(_dir, "no-disk.img");
        string line = OneLineFailure("--device=/dev/null", $"--block={missing}", "64", s_kernel);
        Assert.StartsWith($"lguestsim: cannot open block file {missing}", line, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public void BlockFile_RunFailsAtInitialize_FileUnchanged()
    {
        string disk = Path.Combine(_dir, "disk.img");
        byte[] content = new byte[64 * 1024];
        new Random(11).NextBytes(content);
        File.WriteAllBytes(disk, content);
        DateTime written = File.GetLastWriteTimeUtc(disk);

        string line = OneLineFailure("--device=/dev/null", "--block", disk, "64", s_kernel);
        Assert.Contains("not an lguest device", line, StringComparison.Ordinal);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(disk)));
        Assert.Equal(written, File.GetLastWriteTimeUtc(disk));
    }

    [Fact]
    public void UnknownOption_MessageThenUsage_Exit1()
    {
        CliProcess.Result r = CliProcess.Run("run", "--bogus", "64", s_kernel);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string[] lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.Equal("lguestsim: unknown argument: --bogus", lines[0]);
        Assert.StartsWith("usage: lguestsim run [--verbose]", lines[1], StringComparison.Ordinal);

        // The message, lguest's three usage lines and our --guest-errors line.
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public void KernelArguments_AreNotParsedBySystemCommandLine()
    {
        // Words after the kernel that System.CommandLine would take for options (or for its
        // own --help) are the kernel's; the run still gets as far as the device.
        string line = OneLineFailure("--device=/nonexistent/lguest", "64", s_kernel, "--", "--help", "-h", "init=/bin/sh");
        Assert.Equal("lguestsim: cannot open /nonexistent/lguest: No such file or directory", line);
    }

    private static string OneLineFailure(params string[] args)
    {
        CliProcess.Result r = CliProcess.Run(["run", .. args]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.Equal(string.Empty, r.Stdout);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        return Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
    }
}
