using FsCheck;
using FsProperty = FsCheck.Property;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Virtio;

/// <summary>
/// <see cref="VringLayout"/> against <c>vring_size(num, 4096) = align_up(16*num + 2*(2+num), 4096)
/// + 4 + 8*num</c> and the placement rules of spec §4.2, for every power-of-two size.
/// </summary>
public class VringLayoutProperties
{
    private static readonly int[] s_sizes = Enumerable.Range(0, 16).Select(exp => 1 << exp).ToArray();

    public static TheoryData<int> PowersOfTwo() => new(s_sizes);

    private static long AlignUp(long value) => (value + 4095) / 4096 * 4096;

    /// <summary>The spec formulas, in 64-bit arithmetic so that nothing here can overflow.</summary>
    private static void AssertMatchesSpec(int num)
    {
        var layout = new VringLayout(num);
        long n = num;
        long availEnd = (16 * n) + 4 + (2 * n);

        Assert.Equal(num, layout.Num);
        Assert.Equal(0, layout.DescOffset);
        Assert.Equal(16 * n, layout.AvailOffset);
        Assert.Equal(4 + (2 * n), layout.AvailSize);
        Assert.Equal(4 + (8 * n), layout.UsedSize);
        Assert.Equal(0, layout.UsedOffset % 4096);
        Assert.True(layout.UsedOffset >= availEnd, "used overlaps avail");
        Assert.True(layout.UsedOffset - availEnd < 4096, "used is not at the first aligned offset after avail");
        Assert.Equal(AlignUp((16 * n) + (2 * (2 + n))) + 4 + (8 * n), layout.TotalSize);
        Assert.Equal((layout.TotalSize + 4095L) / 4096, layout.Pages);
    }

    [Theory]
    [MemberData(nameof(PowersOfTwo))]
    public void Layout_EveryPowerOfTwo_MatchesVringSize(int num) => AssertMatchesSpec(num);

    /// <summary>
    /// Every num from 0 to 65536 (and the extremes): <see cref="VringLayout"/> accepts exactly the
    /// sixteen powers of two 1..32768, the sizes the rows above check.
    /// </summary>
    [Fact]
    public void Layout_AcceptsExactlyTheSixteenPowersOfTwoUpTo32768()
    {
        var accepted = new List<int>();
        foreach (int num in Enumerable.Range(0, 65537).Concat([-1, int.MinValue, int.MaxValue]))
        {
            try
            {
                _ = new VringLayout(num);
                accepted.Add(num);
            }
            catch (ArgumentOutOfRangeException)
            {
            }
        }

        Assert.Equal(s_sizes, accepted);
    }

    [Property(MaxTest = 100 * PropertyScale.Factor)]
    public FsProperty Layout_AnyPowerOfTwo_MatchesVringSize() =>
        Prop.ForAll(Gen.Choose(0, 15).Select(e => 1 << e).ToArbitrary(), num => AssertMatchesSpec(num));

    [Fact]
    public void Layout_Num128_UsedAtSecondPageAndTwoPagesTotal()
    {
        var layout = new VringLayout(128);
        Assert.Equal(2048, layout.AvailOffset);
        Assert.Equal(4096, layout.UsedOffset);
        Assert.Equal(5124, layout.TotalSize);
        Assert.Equal(2, layout.Pages);
    }

    [Fact]
    public void Layout_Num256_AvailSpillsSoUsedMovesToThirdPage()
    {
        // 16*256 + 4 + 2*256 = 4612 > 4096: the used ring starts at 8192.
        var layout = new VringLayout(256);
        Assert.Equal(8192, layout.UsedOffset);
        Assert.Equal(8192 + 4 + 2048, layout.TotalSize);
        Assert.Equal(3, layout.Pages);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(127)]
    [InlineData(129)]
    [InlineData(32767)]
    [InlineData(65536)]
    [InlineData(int.MaxValue)]
    public void Layout_NotAPowerOfTwoUpTo32768_Throws(int num) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VringLayout(num));

    [Property(MaxTest = 300 * PropertyScale.Factor)]
    public FsProperty Layout_AnyNonPowerOfTwo_Throws() =>
        Prop.ForAll(
            Gen.Choose(-70000, 70000).Where(n => n <= 0 || (n & (n - 1)) != 0).ToArbitrary(),
            num => Assert.Throws<ArgumentOutOfRangeException>(() => new VringLayout(num)));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4095)]
    public void Layout_AlignNotAPowerOfTwo_Throws(int align) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VringLayout(128, align));

    /// <summary>The refusals say what a ring size and an alignment must be, and name the argument.</summary>
    [Fact]
    public void Layout_Refusals_SayWhatIsAllowed()
    {
        var num = Assert.Throws<ArgumentOutOfRangeException>(() => new VringLayout(3));
        Assert.Equal("num", num.ParamName);
        Assert.Equal(3, num.ActualValue);
        Assert.StartsWith("ring size must be a power of two from 1 to 32768", num.Message, StringComparison.Ordinal);

        var align = Assert.Throws<ArgumentOutOfRangeException>(() => new VringLayout(4, 12));
        Assert.Equal("align", align.ParamName);
        Assert.Equal(12, align.ActualValue);
        Assert.StartsWith("alignment must be a power of two", align.Message, StringComparison.Ordinal);

        // The smallest alignment, 1, packs used right after avail: 16*4 + 4 + 2*4.
        Assert.Equal(76, new VringLayout(4, 1).UsedOffset);
    }
}
