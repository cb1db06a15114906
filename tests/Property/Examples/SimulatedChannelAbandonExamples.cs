using LguestSim.Backends.Simulated;
using LguestSim.Engine.Channel;
using Xunit;

namespace LguestSim.Tests.Property.Examples;

/// <summary>
/// A run or a break of the simulated vcpu given up by its caller (a signal during a blocked
/// read or write of the emulated /dev/lguest) leaves the guest as it was.
/// </summary>
public class SimulatedChannelAbandonExamples
{
    private static readonly TimeSpan Soon = TimeSpan.FromMilliseconds(200);

    /// <summary>Halts until it takes irq 1, then notifies 0x1000 + n for the n-th one.</summary>
    private static void NotifyOnIrq(IGuestCpu cpu)
    {
        for (uint n = 1; ; n++)
        {
            cpu.Halt();
            while (cpu.TryTakeInterrupt(out _))
            {
                cpu.Notify(0x1000 + n);
            }
        }
    }

    /// <summary>An abandoned run on a thread of its own, so a run that ignores its token fails the test instead of hanging it.</summary>
    private static bool TryRunWithin(SimulatedChannel vcpu, CancellationToken abandon)
    {
        bool ran = true;
        var runner = new Thread(() => ran = vcpu.TryRun(abandon, out _)) { IsBackground = true };
        runner.Start();
        Assert.True(runner.Join(TimeSpan.FromSeconds(5)), "the abandoned run did not return");
        return ran;
    }

    [Fact]
    public void AbandonedRun_OfAHaltedGuest_ReturnsFalse_AndTheNextRunGoesOn()
    {
        using var vcpu = new SimulatedChannel(NotifyOnIrq);
        vcpu.Initialize(16, 0, 0);
        using var abandon = new CancellationTokenSource(Soon);
        Assert.False(TryRunWithin(vcpu, abandon.Token));
        Assert.True(vcpu.Interrupt(1));
        Assert.Equal(ChannelEvent.Notify(0x1001), vcpu.Run());
    }

    [Fact]
    public void AbandonedRun_OfABusyGuest_HandsWhatItDidToTheNextRun_InOrder()
    {
        using var go = new ManualResetEventSlim();
        using var vcpu = new SimulatedChannel(cpu =>
        {
            go.Wait();
            cpu.Notify(1);
            cpu.Notify(2);
            cpu.Halt();
        });
        vcpu.Initialize(16, 0, 0);
        using var abandon = new CancellationTokenSource(Soon);
        bool ran = TryRunWithin(vcpu, abandon.Token);
        go.Set();
        Assert.False(ran);
        Thread.Sleep(Soon); // the guest posts notify 1 with nobody running it, and waits
        Assert.Equal(ChannelEvent.Notify(1), vcpu.Run());
        Assert.Equal(ChannelEvent.Notify(2), vcpu.Run());
    }

    [Fact]
    public void AbandonedBreak_ReturnsFalse_AndLeavesTheBreakSet()
    {
        using var vcpu = new SimulatedChannel(NotifyOnIrq);
        vcpu.Initialize(16, 0, 0);
        using var abandon = new CancellationTokenSource(Soon);
        bool released = true;
        var breaker = new Thread(() => released = vcpu.TryBreak(abandon.Token)) { IsBackground = true };
        breaker.Start();
        Assert.True(breaker.Join(TimeSpan.FromSeconds(5)), "the abandoned break did not return");
        Assert.False(released);
        Assert.Equal(ChannelEvent.Broken, vcpu.Run()); // lg.ko: only BREAK 0 clears the flag
        vcpu.ReleaseBreak();
        Assert.True(vcpu.Interrupt(1));
        Assert.Equal(ChannelEvent.Notify(0x1001), vcpu.Run());
    }

    [Fact]
    public void ReleasedBreak_ReturnsTrue()
    {
        using var vcpu = new SimulatedChannel(NotifyOnIrq);
        vcpu.Initialize(16, 0, 0);
        bool released = false;
        var breaker = new Thread(() => released = vcpu.TryBreak(CancellationToken.None));
        breaker.Start();
        Assert.Equal(ChannelEvent.Broken, vcpu.Run());
        Assert.False(breaker.Join(Soon));
        vcpu.ReleaseBreak();
        Assert.True(breaker.Join(TimeSpan.FromSeconds(10)));
        Assert.True(released);
    }
}
