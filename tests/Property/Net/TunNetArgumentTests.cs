using FsCheck;
using FsCheck.Fluent;
using LguestSim.Engine;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Loader;
using Xunit;

namespace LguestSim.Tests.Property.Net;

/// <summary>The <c>--tunnet</c> value (spec §5.2 step 7): a dotted quad or bridge:NAME, nothing else.</summary>
public sealed class TunNetArgumentTests
{
    [Fact]
    public void Address_ParsesToHostOrder()
    {
        TunNetArgument a = TunNetArgument.Parse("169.254.1.2");
        Assert.False(a.IsBridge);
        Assert.Null(a.BridgeName);
        Assert.Equal(0xa9fe0102u, a.Address);
        Assert.Equal("169.254.1.2", a.ToString());
    }

    [Fact]
    public void Bridge_HasNameAndAddressZero()
    {
        TunNetArgument a = TunNetArgument.Parse("bridge:br0");
        Assert.True(a.IsBridge);
        Assert.Equal("br0", a.BridgeName);
        Assert.Equal(0u, a.Address);
    }

    [Fact]
    public void BridgeName_FifteenBytesIsTheLongest()
    {
        Assert.Equal("abcdefghijklmno", TunNetArgument.Parse("bridge:abcdefghijklmno").BridgeName);
        Assert.False(TunNetArgument.TryParse("bridge:abcdefghijklmnop", out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.0.0")]
    [InlineData("10.0.0.256")]
    [InlineData("10.0.0.-1")]
    [InlineData("10.0.0.1 ")]
    [InlineData("10.0.0.1\n")]
    [InlineData("0x0a.0.0.1")]
    [InlineData("+1.2.3.4")]
    [InlineData("１.2.3.4")]
    [InlineData("bridge:")]
    [InlineData("bridge:.")]
    [InlineData("bridge:..")]
    [InlineData("bridge:a:b")]
    [InlineData("bridge:a\tb")]
    [InlineData("Bridge:br0")]
    public void Malformed_Refused(string text)
    {
        Assert.False(TunNetArgument.TryParse(text, out _, out string? error));
        Assert.StartsWith("bad --tunnet value '", error, StringComparison.Ordinal);
        Assert.Throws<LauncherException>(() => TunNetArgument.Parse(text));
    }

    [Fact]
    public void EveryAddress_FormatsAndParsesBack()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<uint>(), (uint address) =>
        {
            Assert.True(TunNetArgument.TryParse(TunNetArgument.FormatAddress(address), out TunNetArgument? a, out _));
            Assert.Equal(address, a.Address);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void AnyString_ParsesOrGivesOneLineError()
    {
        Gen<string> text = Gen.Frequency(
            (1, ArbMap.Default.ArbFor<string>().Generator.Where(s => s is not null)),
            (1, Gen.Elements("bridge:", "1.2.3.", "255.255.255.", "bridge:br").SelectMany(p => ArbMap.Default.ArbFor<string>().Generator.Where(s => s is not null).Select(s => p + s))));
        Prop.ForAll(text.ToArbitrary(), (string s) =>
        {
            if (TunNetArgument.TryParse(s, out TunNetArgument? a, out string? error))
            {
                Assert.True(a.IsBridge ? a.BridgeName.Length is > 0 and <= 15 : TunNetArgument.FormatAddress(a.Address) == s);
            }
            else
            {
                Assert.DoesNotContain('\n', error);
                Assert.DoesNotContain('\r', error);
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void LauncherCommandLine_RefusesABadTunnetValue()
    {
        Assert.True(LauncherCommandLine.TryParse(["--tunnet=bridge:br0", "--tunnet", "10.0.0.1", "64", "vmlinux"], out _, out _));
        Assert.False(LauncherCommandLine.TryParse(["--tunnet=10.0.0.300", "64", "vmlinux"], out _, out CommandLineError? error));
        Assert.Contains("octet 300 is over 255", error.Message, StringComparison.Ordinal);
        Assert.False(error.ShowUsage);
    }
}
