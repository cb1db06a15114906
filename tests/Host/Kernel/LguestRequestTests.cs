using LguestSim.Backends.Kernel;
using Xunit;

namespace LguestSim.Tests.Host.Kernel;

/// <summary>The bytes KernelChannel writes to /dev/lguest (spec §2.2): 4-byte little-endian words.</summary>
public sealed class LguestRequestTests
{
    [Fact]
    public void Initialize_IsFiveLittleEndianWords()
    {
        byte[] b = new byte[20];
        LguestRequest.EncodeInitialize(b, 0x40000000, 0x4100, 0x3ffe000, 0xc0100000);
        Assert.Equal(
            new byte[] { 0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0x41, 0, 0, 0x00, 0xe0, 0xff, 0x03, 0x00, 0x00, 0x10, 0xc0 },
            b);
    }

    [Fact]
    public void Irq_IsRequestTwoThenIrq()
    {
        byte[] b = new byte[8];
        LguestRequest.EncodeIrq(b, 33);
        Assert.Equal(new byte[] { 2, 0, 0, 0, 33, 0, 0, 0 }, b);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public void Break_IsRequestThreeThenOnOff(bool on, byte word)
    {
        byte[] b = new byte[8];
        LguestRequest.EncodeBreak(b, on);
        Assert.Equal(new byte[] { 3, 0, 0, 0, word, 0, 0, 0 }, b);
    }
}
