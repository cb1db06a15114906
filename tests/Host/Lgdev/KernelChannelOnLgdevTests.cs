using LguestSim.Backends.Kernel;
using LguestSim.Emulator.Lguest;
using LguestSim.Engine.Channel;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// The Kernel backend itself (<see cref="KernelChannel"/>, the channel <c>lguestsim run</c> uses)
/// against the emulated device, with the probe guest behind it: every event a run can end in,
/// interrupts, and the break hand-off between the Waker's thread and the owner's, through the
/// real syscalls and FUSE.
/// </summary>
/// <remarks>
/// The probe guest notifies its entry point, then halts and obeys interrupts (see
/// <see cref="ProbeGuest.Orders"/>); the probe guest never touches guest memory, so the
/// base given to the channel is an arbitrary address below 4 GiB.
/// </remarks>
public sealed class KernelChannelOnLgdevTests : IClassFixture<LgdevServerFixture>, IDisposable
{
    private const uint Base = 0x4000_0000;
    private const uint PfnLimit = 0x2005;
    private const uint PageDirectory = 0x1fff000;
    private const uint Entry = 0x100000;
    private readonly LgdevServerFixture _fixture;
    private readonly IDisposable _watchdog;

    public KernelChannelOnLgdevTests(LgdevServerFixture fixture)
    {
        _fixture = fixture;
        _watchdog = fixture.Server.Watchdog(TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _watchdog.Dispose();

    [FuseFact]
    public void Run_GivesTheNotifies_ThenTheDeathReason()
    {
        using KernelChannel channel = Booted();
        Assert.Equal(ChannelEvent.Notify(Entry), channel.Run());

        // Order 1: the guest notifies pgdir + 1 on its next turn.
        Assert.True(channel.Interrupt(ProbeGuest.Orders.Notify));
        Assert.Equal(ChannelEvent.Notify(PageDirectory + 1), channel.Run());

        Assert.True(channel.Interrupt(ProbeGuest.Orders.PowerOff));
        Assert.Equal(ChannelEvent.Died("CRASH: Power down"), channel.Run());
    }

    [FuseFact]
    public void Run_AfterAPanic_GivesThePanicText()
    {
        using KernelChannel channel = Booted();
        Assert.Equal(ChannelEventKind.Notify, channel.Run().Kind);
        Assert.True(channel.Interrupt(ProbeGuest.Orders.Panic));
        Assert.Equal(ChannelEvent.Died($"CRASH: {ProbeGuest.PanicMessage}"), channel.Run());
    }

    [FuseFact]
    public void Run_AfterARebootRequest_IsRestart()
    {
        using KernelChannel channel = Booted();
        Assert.Equal(ChannelEventKind.Notify, channel.Run().Kind);
        Assert.True(channel.Interrupt(ProbeGuest.Orders.Reboot));
        Assert.Equal(ChannelEvent.Restart, channel.Run());
    }

    [FuseFact]
    public void Interrupt_32_IsRefused_31_IsTaken()
    {
        using KernelChannel channel = Booted();
        Assert.False(channel.Interrupt(32));
        Assert.True(channel.Interrupt(31));
    }

    [FuseFact]
    public void Break_FromTheWakersThread_WhileTheGuestHalts_EndsTheRun_AndIsHeldUntilReleased()
    {
        using KernelChannel channel = Booted();
        Assert.Equal(ChannelEventKind.Notify, channel.Run().Kind);

        // The guest now halts with nothing pending: the owner's run blocks until the break.
        ManualResetEventSlim released = BreakFromAnotherThread(channel); // not disposed: a waker still held would Set it later
        Assert.Equal(ChannelEvent.Broken, channel.Run());

        // lg.ko holds the breaker until the Launcher has serviced input and said BREAK 0.
        Assert.False(released.Wait(TimeSpan.FromMilliseconds(300)), "BREAK 1 returned before BREAK 0");
        channel.ReleaseBreak();
        Assert.True(released.Wait(TimeSpan.FromSeconds(10)), "BREAK 1 did not return after BREAK 0");

        // And the guest is unharmed: it still obeys.
        Assert.True(channel.Interrupt(ProbeGuest.Orders.Notify));
        Assert.Equal(ChannelEvent.Notify(PageDirectory + 1), channel.Run());
    }

    [FuseFact]
    public void Dispose_ReleasesABreakStillHeld()
    {
        KernelChannel channel = Booted();
        Assert.Equal(ChannelEventKind.Notify, channel.Run().Kind);
        ManualResetEventSlim released = BreakFromAnotherThread(channel); // not disposed: a waker still held would Set it later
        Assert.Equal(ChannelEvent.Broken, channel.Run());
        Assert.False(released.IsSet);

        // The Launcher ends here (say a guest fault) without servicing the break.
        channel.Dispose();
        Assert.True(released.Wait(TimeSpan.FromSeconds(10)), "a break held at Dispose was never released");
    }

    [FuseFact]
    public void RunAndInterrupt_FromAThreadThatIsNotTheOwner_AreRefusedBeforeTheKernel()
    {
        using KernelChannel channel = Booted();
        Exception? run = null;
        Exception? irq = null;
        var other = new Thread(() =>
        {
            run = Record(() => channel.Run());
            irq = Record(() => channel.Interrupt(1));
        });
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(run);
        Assert.IsType<InvalidOperationException>(irq);

        // The owner still runs the guest.
        Assert.Equal(ChannelEvent.Notify(Entry), channel.Run());
    }

    /// <summary>Calls <see cref="KernelChannel.Break"/> on a thread of its own, as the Waker does; the event is set when it returns.</summary>
    private static ManualResetEventSlim BreakFromAnotherThread(KernelChannel channel)
    {
        var released = new ManualResetEventSlim();
        var waker = new Thread(() =>
        {
            channel.Break();
            released.Set();
        }) { IsBackground = true, Name = "test waker" };
        waker.Start();
        return released;
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private KernelChannel Booted()
    {
        KernelChannel channel = KernelChannel.Open(_fixture.Server.DevicePath, Base);
        channel.Initialize(PfnLimit, PageDirectory, Entry);
        return channel;
    }
}
