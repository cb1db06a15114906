using LguestSim.Backends.Kernel;
using LguestSim.Engine;
using Xunit;

namespace LguestSim.Tests.Host.Kernel;

/// <summary>
/// What KernelChannel refuses without a guest: a missing device, a file that is not lguest,
/// a base above 4 GiB, and a run or interrupt before the guest exists. (The ABI itself is
/// tested against the emulated device.)
/// </summary>
public sealed class KernelChannelRefusalTests
{
    private const int Enoent = 2;

    [Fact]
    public void Open_MissingDevice_HostErrorWithErrno()
    {
        LguestHostException e = Assert.Throws<LguestHostException>(() => KernelChannel.Open("/nonexistent/lguest", 0x40000000));
        Assert.Equal(Enoent, e.Errno);
        Assert.Equal("cannot open /nonexistent/lguest", e.Operation);
    }

    [Fact]
    public void Open_BaseAbove4GiB_Refused()
    {
        LguestHostException e = Assert.Throws<LguestHostException>(() => KernelChannel.Open("/dev/null", 1UL << 32));
        Assert.Equal(0, e.Errno);
    }

    [Fact]
    public void Initialize_OnDevNull_NotAnLguestDevice_AndStillUninitialized()
    {
        using KernelChannel channel = KernelChannel.Open("/dev/null", 0x40000000);
        LguestHostException e = Assert.Throws<LguestHostException>(() => channel.Initialize(0x4005, 0x3fff000, 0x100000));
        Assert.Equal(0, e.Errno);
        Assert.Contains("not an lguest device", e.Message, StringComparison.Ordinal);

        // The failed INITIALIZE made nobody the owner: the run loop cannot go on.
        Assert.Throws<InvalidOperationException>(() => channel.Run());
        Assert.Throws<InvalidOperationException>(() => channel.Interrupt(1));
    }

    [Fact]
    public void Break_AfterDispose_DoesNotThrow()
    {
        // The Waker may break just as the run loop closes the device.
        KernelChannel channel = KernelChannel.Open("/dev/null", 0x40000000);
        channel.Dispose();
        channel.Break();
        channel.Dispose();
    }
}
