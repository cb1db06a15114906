using FsCheck.Xunit;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Devices.ConsoleTests;

/// <summary>
/// The three-Ctrl-C rule of spec §5.1 against a fake clock: three reads that are each exactly
/// one 0x03 byte, the third within the same or the next whole wall-clock second as the first,
/// end the Launcher with status 2; anything else resets the count.
/// </summary>
public class ConsoleAbortTests
{
    private const long Second = 1_000_000;
    private static readonly byte[] CtrlC = [3];

    private static DateTimeOffset At(double secondsAfter) =>
        DateTimeOffset.FromUnixTimeMilliseconds((Second * 1000) + (long)Math.Round(secondsAfter * 1000));

    [Fact]
    public void ThreeLoneCtrlC_WithinOneSecond_RequestsExit2()
    {
        var h = new ConsoleHarness();
        h.TypeOneRead(CtrlC, At(0.1));
        h.TypeOneRead(CtrlC, At(0.2));
        Assert.Null(h.Context.ExitStatus);
        h.TypeOneRead(CtrlC, At(0.3));
        Assert.Equal(2, h.Context.ExitStatus);

        // The reason is what the transcript's end line and `run`'s stderr show the user.
        Assert.Equal("three Ctrl-C within a second", h.Context.ExitReason);
    }

    [Fact]
    public void ThreeLoneCtrlC_GuestStillGetsEachOne()
    {
        var h = new ConsoleHarness();
        for (int i = 0; i < 3; i++)
        {
            h.TypeOneRead(CtrlC, At(0.1 * i));
            Assert.Equal((ushort)(i + 1), h.UsedIdx(h.Device.InputQueue));
            Assert.Equal((0u, 1u), h.UsedElem(h.Device.InputQueue, i));
            Assert.Equal(3, h.Memory.ReadU8(ConsoleHarness.InputBuffer));
        }
    }

    /// <summary>Whole seconds: 0.9 s then 1.9 s later is "the next second", 1.0 s more than a second apart but still in.</summary>
    [Fact]
    public void ThirdCtrlC_InTheNextWholeSecond_StillExits()
    {
        var h = new ConsoleHarness();
        h.TypeOneRead(CtrlC, At(0.9));
        h.TypeOneRead(CtrlC, At(1.5));
        h.TypeOneRead(CtrlC, At(1.999));
        Assert.Equal(2, h.Context.ExitStatus);
    }

    [Fact]
    public void ThirdCtrlC_TwoWholeSecondsAfterTheFirst_DoesNotExit()
    {
        var h = new ConsoleHarness();
        h.TypeOneRead(CtrlC, At(0.99));
        h.TypeOneRead(CtrlC, At(1.5));
        h.TypeOneRead(CtrlC, At(2.0));
        Assert.Null(h.Context.ExitStatus);
    }

    [Fact]
    public void CtrlCSpacedBeyondTheWindow_NeverExits_AndASeriesStartsAfresh()
    {
        var h = new ConsoleHarness();
        for (int i = 0; i < 7; i++)
        {
            h.TypeOneRead(CtrlC, At(1.1 * i));
        }

        Assert.Null(h.Context.ExitStatus);

        // The third of each series reset the count, so the seventh began a new series and
        // two more quick ones end it.
        h.TypeOneRead(CtrlC, At((1.1 * 6) + 0.1));
        h.TypeOneRead(CtrlC, At((1.1 * 6) + 0.2));
        Assert.Equal(2, h.Context.ExitStatus);
    }

    [Theory]
    [InlineData(new byte[] { 3, 3, 3 })]
    [InlineData(new byte[] { 3, 3 })]
    [InlineData(new byte[] { (byte)'a', 3 })]
    [InlineData(new byte[] { 3, (byte)'\n' })]
    public void CtrlCMixedWithOtherBytesInOneRead_DoesNotCount(byte[] read)
    {
        var h = new ConsoleHarness();
        h.TypeOneRead(read, At(0.1));
        h.TypeOneRead(read, At(0.2));
        h.TypeOneRead(read, At(0.3));
        Assert.Null(h.Context.ExitStatus);

        // And it resets a series in progress.
        h.TypeOneRead(CtrlC, At(0.4));
        h.TypeOneRead(CtrlC, At(0.5));
        h.TypeOneRead(read, At(0.6));
        h.TypeOneRead(CtrlC, At(0.7));
        Assert.Null(h.Context.ExitStatus);
    }

    [Fact]
    public void AnyOtherKeyBetween_ResetsTheCount()
    {
        var h = new ConsoleHarness();
        h.TypeOneRead(CtrlC, At(0.1));
        h.TypeOneRead(CtrlC, At(0.2));
        h.TypeOneRead("x"u8.ToArray(), At(0.3));
        h.TypeOneRead(CtrlC, At(0.4));
        h.TypeOneRead(CtrlC, At(0.5));
        Assert.Null(h.Context.ExitStatus);
        h.TypeOneRead(CtrlC, At(0.6));
        Assert.Equal(2, h.Context.ExitStatus);
    }

    /// <summary>
    /// Against a model written from the spec's words: for any series of reads (lone ^C, another
    /// single byte, or a longer read holding ^C) at any spacing, the device asks to exit exactly
    /// when, and at the read where, the model says.
    /// </summary>
    [Property(MaxTest = 500 * PropertyScale.Factor)]
    public bool ExitMatchesTheSpecRule(byte[] kinds, ushort[] gapsMs, ushort startMs)
    {
        var h = new ConsoleHarness();
        int n = Math.Min(kinds.Length, gapsMs.Length);
        long t = (Second * 1000) + (startMs % 1000);
        int count = 0;
        long startSecond = 0;
        int? modelExitAt = null;
        int? deviceExitAt = null;
        for (int i = 0; i < n && modelExitAt is null && deviceExitAt is null; i++)
        {
            t += gapsMs[i] % 1600;
            byte[] read = (kinds[i] % 3) switch
            {
                0 => CtrlC,
                1 => [(byte)'q'],
                _ => [3, 3],
            };

            long second = t / 1000;
            if (read.Length == 1 && read[0] == 3)
            {
                if (count == 0)
                {
                    startSecond = second;
                    count = 1;
                }
                else if (++count == 3)
                {
                    if (second <= startSecond + 1)
                    {
                        modelExitAt = i;
                    }

                    count = 0;
                }
            }
            else
            {
                count = 0;
            }

            h.TypeOneRead(read, DateTimeOffset.FromUnixTimeMilliseconds(t));
            if (h.Context.ExitStatus == 2)
            {
                deviceExitAt = i;
            }
        }

        return modelExitAt == deviceExitAt;
    }
}
