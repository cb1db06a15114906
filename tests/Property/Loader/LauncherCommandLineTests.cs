using FsCheck;
using FsCheck.Fluent;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
using Xunit;

namespace LguestSim.Tests.Property.Loader;

/// <summary>The §7.8 command line, read the way GNU getopt_long reads it.</summary>
public sealed class LauncherCommandLineTests
{
    [Fact]
    public void MinimalCommandLine()
    {
        var cl = LauncherCommandLine.Parse(["64", "vmlinux"]);
        Assert.False(cl.Verbose);
        Assert.Empty(cl.Devices);
        Assert.Null(cl.InitrdPath);
        Assert.Equal(64u, cl.MemoryMiB);
        Assert.Equal(64UL * 1048576, cl.MemorySize);
        Assert.Equal((64UL * 1048576) + (256 * 4096), cl.MemoryCapacity);
        Assert.Equal("vmlinux", cl.KernelPath);
        Assert.Empty(cl.KernelArguments);
    }

    [Fact]
    public void OptionValues_WithEqualsOrAsTheNextWord()
    {
        var joined = LauncherCommandLine.Parse(["--tunnet=10.0.0.1", "--block=disk.img", "--initrd=initrd.img", "64", "vmlinux"]);
        var separate = LauncherCommandLine.Parse(["--tunnet", "10.0.0.1", "--block", "disk.img", "--initrd", "initrd.img", "64", "vmlinux"]);
        foreach (var cl in new[] { joined, separate })
        {
            Assert.Equal([new DeviceOption(DeviceOptionKind.TunNet, "10.0.0.1"), new DeviceOption(DeviceOptionKind.Block, "disk.img")], cl.Devices);
            Assert.Equal("initrd.img", cl.InitrdPath);
            Assert.Equal(64u, cl.MemoryMiB);
            Assert.Equal("vmlinux", cl.KernelPath);
        }
    }

    [Fact]
    public void BlockWithSeparateValue_IsNotTakenAsTheMemorySize()
    {
        // The original's pre-scan took "disk.img" as the memory size here (atoi: 0).
        var cl = LauncherCommandLine.Parse(["--block", "disk.img", "64", "vmlinux"]);
        Assert.Equal(64u, cl.MemoryMiB);
        Assert.Equal(new DeviceOption(DeviceOptionKind.Block, "disk.img"), Assert.Single(cl.Devices));
    }

    [Fact]
    public void Devices_KeepCommandLineOrder()
    {
        var cl = LauncherCommandLine.Parse(["--block=a.img", "--tunnet", "bridge:br0", "64", "--block", "b.img", "vmlinux", "--tunnet=10.0.0.2"]);
        Assert.Equal(
            [
                new DeviceOption(DeviceOptionKind.Block, "a.img"),
                new DeviceOption(DeviceOptionKind.TunNet, "bridge:br0"),
                new DeviceOption(DeviceOptionKind.Block, "b.img"),
                new DeviceOption(DeviceOptionKind.TunNet, "10.0.0.2"),
            ],
            cl.Devices);
    }

    [Fact]
    public void Permutation_OptionsAnywhere_WordsKeepTheirOrder()
    {
        var cl = LauncherCommandLine.Parse(["64", "--verbose", "vmlinux", "root=/dev/vda", "--block=d.img", "ro", "-v"]);
        Assert.True(cl.Verbose);
        Assert.Equal(64u, cl.MemoryMiB);
        Assert.Equal("vmlinux", cl.KernelPath);
        Assert.Equal(["root=/dev/vda", "ro"], cl.KernelArguments);
        Assert.Equal("d.img", Assert.Single(cl.Devices).Argument);
    }

    [Fact]
    public void DoubleDash_EndsOptions()
    {
        var cl = LauncherCommandLine.Parse(["-v", "64", "vmlinux", "--", "--block=x", "-v", "--"]);
        Assert.True(cl.Verbose);
        Assert.Empty(cl.Devices);
        Assert.Equal(["--block=x", "-v", "--"], cl.KernelArguments);
    }

    [Fact]
    public void DoubleDash_BeforeThePositionals()
    {
        var cl = LauncherCommandLine.Parse(["--block=d.img", "--", "64", "-vmlinux-", "-x"]);
        Assert.Equal("-vmlinux-", cl.KernelPath);
        Assert.Equal(["-x"], cl.KernelArguments);
    }

    [Fact]
    public void SeparateValue_IsTakenEvenWhenItLooksLikeAnOption()
    {
        var cl = LauncherCommandLine.Parse(["--block", "-weird.img", "64", "vmlinux"]);
        Assert.Equal("-weird.img", Assert.Single(cl.Devices).Argument);
    }

    [Fact]
    public void Initrd_LastOneWins()
    {
        var cl = LauncherCommandLine.Parse(["--initrd=a", "64", "vmlinux", "--initrd", "b"]);
        Assert.Equal("b", cl.InitrdPath);
    }

    [Fact]
    public void LongOptions_MayBeAbbreviated_AsWithGetoptLong()
    {
        var cl = LauncherCommandLine.Parse(["--verb", "--bl=d.img", "--tun", "10.0.0.1", "--i=r.img", "64", "vmlinux"]);
        Assert.True(cl.Verbose);
        Assert.Equal([new DeviceOption(DeviceOptionKind.Block, "d.img"), new DeviceOption(DeviceOptionKind.TunNet, "10.0.0.1")], cl.Devices);
        Assert.Equal("r.img", cl.InitrdPath);
    }

    [Fact]
    public void ShortVerbose_MayRepeatAndCluster()
    {
        Assert.True(LauncherCommandLine.Parse(["-vv", "64", "vmlinux"]).Verbose);
    }

    [Fact]
    public void LoneDash_IsAWord()
    {
        var cl = LauncherCommandLine.Parse(["64", "-"]);
        Assert.Equal("-", cl.KernelPath);
    }

    [Fact]
    public void EmptyOptionValue_IsKept()
    {
        Assert.Equal("", Assert.Single(LauncherCommandLine.Parse(["--block=", "64", "vmlinux"]).Devices).Argument);
    }

    [Theory]
    [InlineData(new[] { "1", "k" }, 1u)]
    [InlineData(new[] { "0064", "k" }, 64u)]
    [InlineData(new[] { "2046", "k" }, 2046u)]
    public void MemorySize_InMiB(string[] args, uint mib)
    {
        var cl = LauncherCommandLine.Parse(args);
        Assert.Equal(mib, cl.MemoryMiB);
        Assert.Equal(mib * 1048576UL, cl.MemorySize);
    }

    [Theory]
    [InlineData(new[] { "--foo", "64", "vmlinux" }, "unknown argument: --foo")]
    [InlineData(new[] { "64", "vmlinux", "--foo=bar" }, "unknown argument: --foo=bar")]
    [InlineData(new[] { "-x", "64", "vmlinux" }, "unknown argument: -x")]
    [InlineData(new[] { "-vx", "64", "vmlinux" }, "unknown argument: -vx")]
    [InlineData(new[] { "--=x", "64", "vmlinux" }, "unknown argument: --=x")]
    [InlineData(new[] { "64", "vmlinux", "-5" }, "unknown argument: -5")]
    [InlineData(new[] { "--verbose=yes", "64", "vmlinux" }, "option '--verbose' does not take an argument: --verbose=yes")]
    [InlineData(new[] { "64", "vmlinux", "--block" }, "option '--block' requires an argument")]
    [InlineData(new[] { "64", "vmlinux", "--initrd" }, "option '--initrd' requires an argument")]
    [InlineData(new[] { "64", "vmlinux", "--tunnet" }, "option '--tunnet' requires an argument")]
    [InlineData(new string[0], "missing <mem-in-mb> and <vmlinux> arguments")]
    [InlineData(new[] { "64" }, "missing <vmlinux> argument")]
    [InlineData(new[] { "--block", "64", "vmlinux" }, "missing <vmlinux> argument")]
    [InlineData(new[] { "-v", "--", "64" }, "missing <vmlinux> argument")]
    public void UsageErrors(string[] args, string expected)
    {
        Assert.False(LauncherCommandLine.TryParse(args, out var cl, out var error));
        Assert.Null(cl);
        Assert.True(error.ShowUsage);
        Assert.Equal(expected, error.Message);

        var ex = Assert.Throws<LauncherException>(() => LauncherCommandLine.Parse(args));
        Assert.Equal(expected, ex.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("x")]
    [InlineData("4096")]
    public void MemoryErrors_AreNotUsageErrors(string memory)
    {
        Assert.False(LauncherCommandLine.TryParse([memory, "vmlinux"], out _, out var error));
        Assert.False(error.ShowUsage);
    }

    [Theory]
    [InlineData(new[] { "64", "vmlinux" }, "/dev/lguest")]
    [InlineData(new[] { "--device=/tmp/lg/lguest", "64", "vmlinux" }, "/tmp/lg/lguest")]
    [InlineData(new[] { "--device", "/tmp/lg/lguest", "64", "vmlinux" }, "/tmp/lg/lguest")]
    [InlineData(new[] { "--dev=/a", "64", "vmlinux", "--device=/b" }, "/b")]
    public void Device_DefaultsToDevLguest_AndTakesBothForms(string[] args, string expected)
    {
        var cl = LauncherCommandLine.Parse(args);
        Assert.Equal(expected, cl.DevicePath);
        Assert.Equal(64u, cl.MemoryMiB);
        Assert.Equal("vmlinux", cl.KernelPath);
        Assert.Empty(cl.KernelArguments);
    }

    [Fact]
    public void Device_Empty_IsAnError()
    {
        Assert.False(LauncherCommandLine.TryParse(["--device=", "64", "vmlinux"], out _, out var error));
        Assert.Contains("--device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_IsLguestsThreeLines_PlusGuestErrors()
    {
        string usage = LauncherCommandLine.FormatUsage("lguestsim run");
        Assert.Equal(4, usage.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("<mem-in-mb> vmlinux [args...]\n", usage, StringComparison.Ordinal);
        Assert.Contains("--block=<filename>", usage, StringComparison.Ordinal);
        Assert.Contains("[--guest-errors=exit|isolate]", usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "64", "vmlinux" }, GuestErrorMode.Exit)]
    [InlineData(new[] { "--guest-errors=exit", "64", "vmlinux" }, GuestErrorMode.Exit)]
    [InlineData(new[] { "--guest-errors=isolate", "64", "vmlinux" }, GuestErrorMode.Isolate)]
    [InlineData(new[] { "--guest-errors", "isolate", "64", "vmlinux" }, GuestErrorMode.Isolate)]
    [InlineData(new[] { "--guest=isolate", "64", "vmlinux" }, GuestErrorMode.Isolate)]
    [InlineData(new[] { "--guest-errors=isolate", "--guest-errors=exit", "64", "vmlinux" }, GuestErrorMode.Exit)]
    [InlineData(new[] { "64", "vmlinux", "--guest-errors=isolate", "root=/dev/vda" }, GuestErrorMode.Isolate)]
    public void GuestErrors_DefaultExit_LastOneWins(string[] args, GuestErrorMode expected)
    {
        Assert.True(LauncherCommandLine.TryParse(args, out var cl, out _));
        Assert.Equal(expected, cl.GuestErrors);
    }

    [Theory]
    [InlineData("--guest-errors=")]
    [InlineData("--guest-errors=Exit")]
    [InlineData("--guest-errors=isolated")]
    public void GuestErrors_BadValue_IsOneLineWithoutUsage(string option)
    {
        Assert.False(LauncherCommandLine.TryParse([option, "64", "vmlinux"], out _, out var error));
        Assert.Contains("--guest-errors must be exit or isolate", error.Message, StringComparison.Ordinal);
        Assert.False(error.ShowUsage);
    }

    [Fact]
    public void AnyArguments_ParseOrGiveOneLineError()
    {
        // Words drawn from option-like pieces and arbitrary strings (control characters too).
        Gen<string> word = Gen.Frequency(
            (4, Gen.Elements("-v", "--verbose", "--block", "--block=d", "--tunnet", "--initrd=i", "--guest-errors=isolate", "--guest-errors", "--", "-", "--bl", "--x", "-vq", "64", "0", "vmlinux", "root=/dev/vda")),
            (1, ArbMap.Default.ArbFor<string>().Generator.Where(s => s is not null)));
        Prop.ForAll(Gen.ArrayOf(word).ToArbitrary(), (string[] args) =>
        {
            if (LauncherCommandLine.TryParse(args, out var cl, out var error))
            {
                Assert.InRange(cl.MemoryMiB, 1u, LauncherCommandLine.MaxMemoryMiB);
                Assert.Equal(cl.MemoryMiB * 1048576UL, cl.MemorySize);
            }
            else
            {
                Assert.DoesNotContain('\n', error.Message);
                Assert.DoesNotContain('\r', error.Message);
            }
        }).QuickCheckThrowOnFailure();
    }
}
