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

    /// <summary>
    /// Each refusal names what is wrong with the value: the line the user reads is the behaviour
    /// under test here (one clear line for bad input), so its reason is asserted in full.
    /// </summary>
    [Theory]
    [InlineData("", "empty (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("10.0.0", "3 component(s), not 4 (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("1.2.3.4.5", "5 component(s), not 4 (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("1..2.3", "'' is not a decimal octet (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("1234.1.1.1", "'1234' is not a decimal octet (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("1.2.3.x", "'x' is not a decimal octet (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("10.0.0.256", "octet 256 is over 255 (expected an IPv4 address a.b.c.d or bridge:NAME)")]
    [InlineData("bridge:", "the bridge name is empty")]
    [InlineData("bridge:abcdefghijklmnop", "the bridge name is longer than 15 bytes")]
    [InlineData("bridge:\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e98", "the bridge name is longer than 15 bytes")]
    [InlineData("bridge:.", "the bridge name is not a valid interface name")]
    [InlineData("bridge:..", "the bridge name is not a valid interface name")]
    [InlineData("bridge:/br", "the bridge name is not a valid interface name")]
    [InlineData("bridge::br", "the bridge name is not a valid interface name")]
    [InlineData("bridge:br/0", "the bridge name is not a valid interface name")]
    [InlineData("bridge:br 0", "the bridge name is not a valid interface name")]
    [InlineData("bridge:br\u00010", "the bridge name is not a valid interface name")]
    public void Malformed_RefusalSaysWhy(string text, string why)
    {
        Assert.False(TunNetArgument.TryParse(text, out TunNetArgument? result, out string? error));
        Assert.Null(result);
        // The value is shown with its control characters escaped (\x01), so the line stays one line.
        Assert.Equal($"bad --tunnet value '{text.Replace("\u0001", "\\x01", StringComparison.Ordinal)}': {why}", error);
        Assert.Equal(error, Assert.Throws<LauncherException>(() => TunNetArgument.Parse(text)).Message);
    }

    /// <summary>Names that are only almost "." or "..", or hold a dot elsewhere, are valid.</summary>
    [Theory]
    [InlineData("bridge:...")]
    [InlineData("bridge:.br")]
    [InlineData("bridge:br.0")]
    [InlineData("bridge:a")]
    public void BridgeName_DotsThatAreNotTheSpecialNames_Accepted(string text)
    {
        Assert.True(TunNetArgument.TryParse(text, out TunNetArgument? result, out string? error));
        Assert.Null(error);
        Assert.Equal(text["bridge:".Length..], result.BridgeName);
        Assert.Equal(text, result.Text);
    }

    [Theory]
    [InlineData("0.0.0.0", 0u)]
    [InlineData("255.255.255.255", 0xffffffffu)]
    [InlineData("1.2.3.4", 0x01020304u)]
    [InlineData("001.02.3.010", 0x0102030au)]
    public void Address_Examples(string text, uint address)
    {
        Assert.True(TunNetArgument.TryParseDottedQuad(text, out uint parsed, out string? problem));
        Assert.Null(problem);
        Assert.Equal(address, parsed);
        Assert.Equal(address, TunNetArgument.Parse(text).Address);
    }

    [Theory]
    [InlineData(0u, "0.0.0.0")]
    [InlineData(0xffffffffu, "255.255.255.255")]
    [InlineData(0xa9fe0102u, "169.254.1.2")]
    [InlineData(0x01000080u, "1.0.0.128")]
    public void FormatAddress_Examples(uint address, string text) =>
        Assert.Equal(text, TunNetArgument.FormatAddress(address));

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
