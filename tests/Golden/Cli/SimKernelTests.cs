using LguestSim.Tests.Golden.Infrastructure;
using LguestSim.Tests.Shared;
using Xunit;

namespace LguestSim.Tests.Golden.Cli;

/// <summary>`lguestsim sim --kernel`: a real image loaded first; bad input is one line and exit 1.</summary>
public sealed class SimKernelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-kernel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(GoldenFile.RepoRoot, "fixtures", "kernels", name);

    [Fact]
    public void SimKernel_ElfWithInitrd_GuestSeesBootParams()
    {
        CliProcess.Result r = CliProcess.Run("sim", "--kernel", Fixture("vmlinux.elf"), "--initrd", Fixture("initrd.img"), "32", "root=/dev/vda", "console=hvc0");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("launcher: loaded Elf kernel (2 segment(s)", r.Stdout);
        Assert.Contains("guest: e820 1 entry: 0x0+0x2000000 type 1; cmdline \"root=/dev/vda console=hvc0\"; initrd 0x1ffe000+0x2000", r.Stdout);
    }

    [Fact]
    public void SimKernel_BzImage_Loads()
    {
        CliProcess.Result r = CliProcess.Run("sim", "--kernel", Fixture("bzImage.bin"), "64");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("launcher: loaded BzImage kernel", r.Stdout);
    }

    public static TheoryData<string, string[]> BadInputs() => new()
    {
        { "cannot open", ["--kernel", "/nonexistent/vmlinux"] },
        { "empty", ["--kernel", "EMPTY"] },
        { "HdrS", ["--kernel", Fixture("initrd.img")] },
        { "too small", ["--kernel", Fixture("vmlinux.elf"), "0"] },
        { "64M", ["--kernel", Fixture("vmlinux.elf"), "64M"] },
        { "does not fit", ["--kernel", Fixture("vmlinux.elf"), "--initrd", "BIG", "2"] },
        { "need --kernel", ["64"] },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void SimKernel_BadInput_OneLine_Exit1(string expected, string[] args)
    {
        string empty = Path.Combine(_dir, "empty");
        File.WriteAllBytes(empty, []);
        string big = Path.Combine(_dir, "big.initrd");
        File.WriteAllBytes(big, new byte[3 << 20]);
        string[] argv = ["sim", .. args.Select(a => a == "EMPTY" ? empty : a == "BIG" ? big : a)];
        CliProcess.Result r = CliProcess.Run(argv);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(string.Empty, r.Stdout);
        string line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("lguestsim: ", line);
        Assert.Contains(expected, line, StringComparison.OrdinalIgnoreCase);
    }
}
