using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Block;
using Xunit;

namespace LguestSim.Tests.Property.RunLoop;

/// <summary>
/// What the Launcher's run loop promises (spec §6): how each channel event ends or continues the
/// run, which fault a run reports, what it tells the Waker and the observer, and how a reset ends
/// an isolation. One Launcher over a real device page, block device and console, driven by a
/// scripted channel (<see cref="LauncherHarness"/>).
/// </summary>
public sealed class LauncherTests
{
    public static TheoryData<string, LauncherExitKind, int, string> Endings() => new()
    {
        { "died", LauncherExitKind.GuestDied, 1, "CRASH: Power down" },
        { "died without a reason", LauncherExitKind.GuestDied, 1, "guest died" },
        { "restart", LauncherExitKind.Restart, 0, "guest asked to reboot" },
    };

    /// <summary>
    /// Each way the kernel ends a run becomes its exit: kind, status and the one line the CLI
    /// prints (the death reason as the kernel gave it; a fixed line when it gave none), which is
    /// why the text is asserted.
    /// </summary>
    [Theory]
    [MemberData(nameof(Endings))]
    public void ChannelEnding_IsTheExit_WithItsStatusAndLine(string ending, LauncherExitKind kind, int status, string line)
    {
        using var h = new LauncherHarness();
        h.Channel.Then(ending switch
        {
            "died" => ChannelEvent.Died("CRASH: Power down"),
            "died without a reason" => new ChannelEvent(ChannelEventKind.Died),
            _ => ChannelEvent.Restart,
        });

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(new LauncherExit(kind, status, line), exit);
    }

    [Fact]
    public void EveryBreakWithNothingWrong_IsReleasedOnce()
    {
        using var h = new LauncherHarness();
        h.Channel.Then(ChannelEvent.Broken).Then(ChannelEvent.Broken).Then(ChannelEvent.Broken);

        Assert.Equal(LauncherExitKind.GuestDied, h.Launcher.Run().Kind);

        // A break left unreleased would hold the Waker in LHREQ_BREAK for ever.
        Assert.Equal(3, h.Channel.ReleasedBreaks);
    }

    /// <summary>
    /// A run ended by a device's fault reports that fault, and serves nothing after it: the block
    /// requests the guest kicked before (served only when the device is settled) stay unserved,
    /// even one that would fault too.
    /// </summary>
    [Fact]
    public void RunEndedByAFault_ReportsThatFault_AndServesNoBlockRequestAfterIt()
    {
        var store = new MemoryBlockStore(new byte[8 * 512]);
        using var h = new LauncherHarness(store: store, blockOnCaller: true);
        h.Channel
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBlockRequest(0, VirtioBlkOutHdr.TypeOut, 1, fill: 0xaa);
                h.OfferBadBlockRequest(3);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(() =>
            {
                h.DriverOk(h.Console);
                h.OfferOutput(0, "x", VringDesc.FlagWrite);
            }, LauncherHarness.NotifyAddress(h.Console.OutputQueue));

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(LauncherExitKind.GuestFault, exit.Kind);
        Assert.Equal(GuestFault.ConsoleOutputWritable, exit.Fault);
        Assert.All(store.Bytes, b => Assert.Equal(0, b));
        Assert.Equal(0, h.UsedIdx(h.Block.Queue));
    }

    /// <summary>
    /// With settling at a break (the simulator), a block request kicked before a halt is served
    /// and its interrupt raised at that break, not left for a later one.
    /// </summary>
    [Fact]
    public void SettleAtBreak_KickedBlockRequest_IsCompletedAndInterruptedAtThatBreak()
    {
        using var h = new LauncherHarness(settleAtBreak: true, blockOnCaller: true);
        h.Channel
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBlockRequest(0, VirtioBlkOutHdr.TypeIn, 0);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(ChannelEvent.Broken);

        Assert.Equal(LauncherExitKind.GuestDied, h.Launcher.Run().Kind);

        Assert.Equal(1, h.UsedIdx(h.Block.Queue));
        Assert.Equal([(h.Block.Queue.Config.Irq, 2)], h.Channel.Interrupts);
    }

    /// <summary>
    /// Without settling at a break (real runs), a break does not wait for the block worker: the
    /// run loop takes the guest's next event while the worker is still inside a read. (The store
    /// holds the read until then; settling would wait for it.)
    /// </summary>
    [Fact]
    public void NoSettleAtBreak_BreakDoesNotWaitForTheBlockWorker()
    {
        var store = new HeldBlockStore(new byte[8 * 512]);
        using var h = new LauncherHarness(store: store);
        bool readDoneBeforeNextEvent = true;
        h.Channel
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBlockRequest(0, VirtioBlkOutHdr.TypeIn, 0);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(ChannelEvent.Broken)
            .Then(() =>
            {
                readDoneBeforeNextEvent = store.ReadsDone > 0;
                store.Open();
                return ChannelEvent.Died("done");
            });

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(LauncherExitKind.GuestDied, exit.Kind);
        Assert.False(readDoneBeforeNextEvent, "the break waited for the block worker");

        // The end of the run settles the worker: the read was served.
        Assert.Equal(1, h.UsedIdx(h.Block.Queue));
    }

    /// <summary>
    /// A device that cannot take input (the console with no buffer from the guest) stops being
    /// watched: the Waker is told, so it does not break the guest again and again for it.
    /// </summary>
    [Fact]
    public void DeviceThatCannotTakeInput_IsRemovedFromTheWaker()
    {
        using var h = new LauncherHarness();
        h.Channel.Then(ChannelEvent.Broken);

        h.Launcher.Run();

        Assert.Equal(["add block", "add console", "remove console"], h.Waker.Log);
    }

    /// <summary>
    /// The kernel refusing an interrupt ends the run as <see cref="GuestFault.InterruptRejected"/>;
    /// the line the CLI prints names the irq, which is why the text is asserted.
    /// </summary>
    [Fact]
    public void RefusedInterrupt_EndsTheRun_AsInterruptRejected_NamingTheIrq()
    {
        using var h = new LauncherHarness();
        h.Channel.AcceptInterrupts = false;
        h.Channel.Then(() =>
        {
            h.DriverOk(h.Console);
            h.OfferOutput(0, "hello");
        }, LauncherHarness.NotifyAddress(h.Console.OutputQueue));

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(GuestFault.InterruptRejected, exit.Fault);
        Assert.Equal($"triggering irq {h.Console.OutputQueue.Config.Irq} failed", exit.Message);
        Assert.Equal(["hello"], h.Port.Written.Select(b => System.Text.Encoding.ASCII.GetString(b)));
    }

    /// <summary>A notify at or above guest_limit: the line the CLI prints (exit mode) names the address and the limit.</summary>
    [Fact]
    public void BadNotify_ExitMode_LineNamesTheAddressAndTheLimit()
    {
        using var h = new LauncherHarness();
        h.Channel.Then(ChannelEvent.Notify(0xffff_f000));

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(GuestFault.BadNotify, exit.Fault);
        Assert.Equal($"bad NOTIFY 0xfffff000 (guest limit 0x{h.Memory.Limit:x})", exit.Message);
    }

    /// <summary>Isolate mode: the same notify is a warning (the line the user reads) and the guest carries on.</summary>
    [Fact]
    public void BadNotify_IsolateMode_WarningNamesTheAddress_AndTheRunGoesOn()
    {
        using var h = new LauncherHarness(GuestErrorMode.Isolate);
        h.Channel.Then(ChannelEvent.Notify(0xffff_f000));

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(LauncherExitKind.GuestDied, exit.Kind);
        Assert.Equal([$"bad NOTIFY 0xfffff000 (guest limit 0x{h.Memory.Limit:x}); notify ignored"], h.Observer.Warnings);
    }

    /// <summary>
    /// Isolate mode: a fault the block worker hit that the run loop has not seen yet is reported,
    /// as an isolation, before the guest's reset of the device; the reset then brings the device
    /// back clean, and it serves the guest's next request.
    /// </summary>
    [Fact]
    public void IsolateMode_ResetWhileTheWorkerHoldsAFault_IsolatesFirst_ThenServesAgain()
    {
        using var h = new LauncherHarness(GuestErrorMode.Isolate);
        h.Channel
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBadBlockRequest(0);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(() => LauncherHarness.WaitFor(() => h.Block.PendingFault is not null, "the worker's fault"), (uint)h.Block.Record.DescriptorAddress)
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBlockRequest(0, VirtioBlkOutHdr.TypeIn, 0);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(() =>
            {
                LauncherHarness.WaitFor(() => h.Block.Input!.IsReady, "the read's completion");
                return ChannelEvent.Broken;
            });

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(LauncherExitKind.GuestDied, exit.Kind);
        Assert.Equal(["isolated block BlockBadRequestShape", "reset block", "interrupt block"], h.Observer.Log);
        Assert.Equal(1, h.UsedIdx(h.Block.Queue));
        Assert.False(h.Block.IsIsolated);
    }

    /// <summary>
    /// Exit mode: a reset does not swallow a fault the block worker hit before it: nothing is
    /// isolated, and the run ends as that fault.
    /// </summary>
    [Fact]
    public void ExitMode_ResetWhileTheWorkerHoldsAFault_IsolatesNothing_AndTheRunEndsAsTheFault()
    {
        using var h = new LauncherHarness(GuestErrorMode.Exit);
        h.Channel
            .Then(() =>
            {
                h.DriverOk(h.Block);
                h.OfferBadBlockRequest(0);
            }, LauncherHarness.NotifyAddress(h.Block.Queue))
            .Then(() => LauncherHarness.WaitFor(() => h.Block.PendingFault is not null, "the worker's fault"), (uint)h.Block.Record.DescriptorAddress);

        LauncherExit exit = h.Launcher.Run();

        Assert.Equal(LauncherExitKind.GuestFault, exit.Kind);
        Assert.Equal(GuestFault.BlockBadRequestShape, exit.Fault);
        Assert.Equal(["reset block"], h.Observer.Log);
    }

    /// <summary>
    /// Isolate mode: an isolated device's first ignored notify warns, later ones are silent; once
    /// a reset has ended the isolation, the next isolation's first ignored notify warns again.
    /// </summary>
    [Fact]
    public void IsolateMode_EachIsolation_WarnsAtItsFirstIgnoredNotify()
    {
        using var h = new LauncherHarness(GuestErrorMode.Isolate);
        uint output = LauncherHarness.NotifyAddress(h.Console.OutputQueue);
        void BadOutput()
        {
            h.DriverOk(h.Console);
            h.OfferOutput(0, "x", VringDesc.FlagWrite);
        }

        h.Channel
            .Then(BadOutput, output)
            .Then(ChannelEvent.Notify(output))
            .Then(ChannelEvent.Notify(output))
            .Then(ChannelEvent.Notify((uint)h.Console.Record.DescriptorAddress))
            .Then(BadOutput, output)
            .Then(ChannelEvent.Notify(output))
            .Then(ChannelEvent.Notify(output));

        Assert.Equal(LauncherExitKind.GuestDied, h.Launcher.Run().Kind);

        string ignored = "console: device is isolated until the guest resets it; notify ignored";
        Assert.Equal(
            ["isolated console ConsoleOutputWritable", $"warning {ignored}", "reset console", "isolated console ConsoleOutputWritable", $"warning {ignored}"],
            h.Observer.Log);
    }

    /// <summary>An interrupt for a queue that belongs to no device is a bug in the caller: it is refused, and no irq reaches the kernel.</summary>
    [Fact]
    public void TriggerIrq_ForAQueueOfNoDevice_IsAnInvalidOperation()
    {
        using var h = new LauncherHarness();
        var stray = new Virtqueue(h.Memory, new LguestVqConfig(LguestLayout.VirtqueueNum, 9, 16));

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => h.Launcher.TriggerIrq(stray));

        Assert.Equal("queue belongs to no device", e.Message);
        Assert.Empty(h.Channel.Interrupts);
    }

    /// <summary>A memory store whose reads wait until it is opened, counting the reads done.</summary>
    private sealed class HeldBlockStore(byte[] bytes) : MemoryBlockStore(bytes)
    {
        private readonly ManualResetEventSlim _open = new(false);
        private int _readsDone;

        public int ReadsDone => Volatile.Read(ref _readsDone);

        public void Open() => _open.Set();

        public override long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
        {
            _open.Wait(TimeSpan.FromSeconds(10));
            long n = base.ReadAt(memory, buffers, offset);
            Interlocked.Increment(ref _readsDone);
            return n;
        }
    }
}
