using LguestSim.Backends.Simulated.Scenarios;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>Issue 13 item 9: <c>fill:HH</c> is a hex byte, as the README says, and the parser reads it so.</summary>
public sealed class FillPatternTests
{
    [Theory]
    [InlineData("fill:ff", 0xff)]
    [InlineData("fill:FF", 0xff)]
    [InlineData("fill:10", 0x10)]
    [InlineData("fill:a", 0x0a)]
    [InlineData("fill:0", 0)]
    [InlineData("fill:0xa5", 0xa5)]
    [InlineData("5a", 0x5a)]
    public void Fill_IsAHexByte(string text, int value)
    {
        Assert.True(DataPattern.TryParse(text, out DataPattern pattern));
        Assert.Equal(new DataPattern(true, (ulong)value), pattern);
    }

    [Theory]
    [InlineData("fill:100")]
    [InlineData("fill:0x100")]
    [InlineData("fill:g")]
    [InlineData("fill:")]
    [InlineData("fill:255")]
    public void Fill_NotOneHexByte_IsRefused(string text) => Assert.False(DataPattern.TryParse(text, out _));

    [Fact]
    public void ReadmeSaysFillIsHex()
    {
        string readme = File.ReadAllText(Path.Combine(Infrastructure.GoldenFile.RepoRoot, "README.md"));
        Assert.Contains("`fill:HH`", readme, StringComparison.Ordinal);
        Assert.Contains("a byte in hex", readme, StringComparison.Ordinal);
    }
}
