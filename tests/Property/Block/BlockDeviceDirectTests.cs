using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Devices.ConsoleTests;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Block;

/// <summary>
/// The block device driven directly, as the run loop drives it: the test plays the guest (raw
/// requests in the ring), the Launcher (a recording <see cref="IDeviceContext"/>) and decides
/// when the run loop looks: at input, at a settle, at an isolation, at a reset. What each of
/// those hands over (warnings, one interrupt per completion, the fault) and what it drops.
/// </summary>
/// <remarks>
/// With a worker thread the test waits for the worker's state (used ring, pending fault) with a
/// generous limit, never for a time; without one (<see cref="BlockDevice.ServeOnCallerThread"/>)
/// the worker's pass runs at <see cref="VirtioDevice.Settle"/>, on the test's thread.
/// </remarks>
public sealed class BlockDeviceDirectTests
{
    private const ulong Mem = 1 << 20;
    private const ulong Buffers = 0x10000;
    private const byte Untouched = 0xEE;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public void Settle_HandsOverTheWorkersWarnings_WithNoInputServiced()
    {
        using var b = new Harness(onCaller: true);
        b.Publish(VirtioBlkOutHdr.TypeScsiCmd, 0);
        b.Kick();

        // The end of a run settles devices without servicing input: the warning still shows.
        Assert.Null(b.Device.Settle(b.Context));
        Assert.Equal(["block: SCSI unsupported"], b.Context.Warnings);
        Assert.Equal(VirtioBlkOutHdr.StatusUnsupp, b.Status(0));
    }

    [Fact]
    public void HandleInput_HandsOverWarnings_ThenOneInterruptPerCompletedRequest()
    {
        using var b = new Harness(onCaller: false);
        b.Publish(VirtioBlkOutHdr.TypeScsiCmd, 0);
        b.Publish(VirtioBlkOutHdr.TypeIn, 1);
        b.Kick();
        b.WaitForUsed(2);

        Assert.Null(b.Device.HandleInput(b.Context, out bool keepListening));
        Assert.True(keepListening);
        Assert.Equal(["block: SCSI unsupported"], b.Context.Warnings);
        Assert.Equal(2, b.Context.Interrupts.Count);
        Assert.False(b.Device.Input!.IsReady);
    }

    /// <summary>
    /// Isolate mode: the worker stopped on the third request. Isolating the device writes the
    /// warning it held, raises the two interrupts owed for the requests it completed first
    /// (their used entries are on the ring), and takes the fault.
    /// </summary>
    [Fact]
    public void OnIsolated_WritesWarnings_RaisesEachOwedInterrupt_AndTakesTheFault()
    {
        using Harness b = StoppedOnTheThird(VirtioBlkOutHdr.TypeScsiCmd);

        b.Device.OnIsolated(b.Context);
        Assert.Equal(["block: SCSI unsupported"], b.Context.Warnings);
        Assert.Equal(2, b.Context.Interrupts.Count);
        Assert.Null(b.Device.PendingFault);
        Assert.False(b.Device.Input!.IsReady);
    }

    [Fact]
    public void OnIsolated_FirstOwedInterruptRefused_TriesNoMore()
    {
        using Harness b = StoppedOnTheThird(VirtioBlkOutHdr.TypeIn);

        b.Context.RejectInterrupts = true;
        b.Device.OnIsolated(b.Context);
        Assert.Single(b.Context.Interrupts);
        Assert.Null(b.Device.PendingFault);
    }

    /// <summary>The fuzzer's reuse of a machine after a worker fault ended a run: nothing of the old run is reported later.</summary>
    [Fact]
    public void DropPendingFault_DropsTheFault_TheWarnings_AndTheInterruptsOwed()
    {
        using Harness b = StoppedOnTheThird(VirtioBlkOutHdr.TypeScsiCmd);

        b.Device.DropPendingFault();
        Assert.Null(b.Device.PendingFault);
        Assert.False(b.Device.Input!.IsReady);
        Assert.Null(b.Device.HandleInput(b.Context, out _));
        Assert.Empty(b.Context.Warnings);
        Assert.Empty(b.Context.Interrupts);
    }

    /// <summary>Interrupts owed for the old ring are forgotten at a reset: its used entries are gone.</summary>
    [Fact]
    public void Reset_ForgetsTheInterruptsOwedForTheOldRing()
    {
        using var b = new Harness(onCaller: false);
        b.Publish(VirtioBlkOutHdr.TypeIn, 0);
        b.Publish(VirtioBlkOutHdr.TypeIn, 1);
        b.Kick();
        b.WaitForUsed(2);

        b.Reset();
        Assert.False(b.Device.Input!.IsReady);
        Assert.Null(b.Device.HandleInput(b.Context, out _));
        Assert.Empty(b.Context.Interrupts);
    }

    /// <summary>
    /// After a reset with nothing kicked on the new ring, settling (the end of a run) returns at
    /// once: the worker owes nothing.
    /// </summary>
    [Fact]
    public void Settle_AfterAResetWithNothingKicked_ReturnsAtOnce()
    {
        using var b = new Harness(onCaller: false);
        b.Publish(VirtioBlkOutHdr.TypeIn, 0);
        b.Kick();
        b.WaitForUsed(1);
        b.Reset();

        GuestFaultException? fault = new(GuestFault.BadNotify, "not settled");
        var settle = new Thread(() => fault = b.Device.Settle(b.Context)) { IsBackground = true };
        settle.Start();
        Assert.True(settle.Join(Patience), "Settle after a reset waited for a worker that had nothing to do");
        Assert.Null(fault);
    }

    /// <summary>Isolate mode: the reset that ends an isolation sets the worker serving again, on the new ring.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IsolationThenReset_ServesTheNewRing(bool onCaller)
    {
        using var b = new Harness(onCaller);
        b.PublishBadHeader();
        b.Kick();
        Assert.Equal(GuestFault.BadTypedBuffer, b.SettleFault()?.Fault);
        b.Device.OnIsolated(b.Context);
        b.Reset();

        b.Publish(VirtioBlkOutHdr.TypeIn, 0);
        b.Kick();
        Assert.Null(b.Device.Settle(b.Context));
        b.WaitForUsed(1);
        Assert.Equal(VirtioBlkOutHdr.StatusOk, b.Status(0));
    }

    /// <summary>Like lguest.c's thread after errx(): a worker that stopped on a fault serves nothing more, however often the guest kicks.</summary>
    [Fact]
    public void WithoutAThread_AfterAFault_LaterKicksServeNothing()
    {
        using var b = new Harness(onCaller: true);
        b.PublishBadHeader();
        b.Kick();
        Assert.Equal(GuestFault.BadTypedBuffer, b.SettleFault()?.Fault);

        b.Publish(VirtioBlkOutHdr.TypeIn, 1);
        b.Kick();
        Assert.Equal(GuestFault.BadTypedBuffer, b.SettleFault()?.Fault);
        Assert.Equal(Untouched, b.Status(1));
        Assert.Equal(0, b.UsedIdx);
    }

    /// <summary>
    /// A kick serves the chains published before it, not one published after it without a kick
    /// of its own (the worker stops at the avail.idx read at the kick).
    /// </summary>
    [Fact]
    public void WithoutAThread_APassStopsAtTheIndexOfTheLastKick()
    {
        using var b = new Harness(onCaller: true);
        b.Publish(VirtioBlkOutHdr.TypeIn, 0);
        b.Kick();
        b.Publish(VirtioBlkOutHdr.TypeIn, 1);
        Assert.Null(b.Device.Settle(b.Context));
        Assert.Equal(1, b.UsedIdx);
        Assert.Equal(Untouched, b.Status(1));

        b.Kick();
        Assert.Null(b.Device.Settle(b.Context));
        Assert.Equal(2, b.UsedIdx);
        Assert.Equal(VirtioBlkOutHdr.StatusOk, b.Status(1));
    }

    /// <summary>
    /// The worker is a background thread (it never keeps the process alive past the run) and
    /// is named for stack dumps and debuggers.
    /// </summary>
    [Fact]
    public void Worker_IsABackgroundThread_NamedForTheDevice()
    {
        Thread? worker = null;
        using var b = new Harness(onCaller: false, starting: () => worker = Thread.CurrentThread);
        b.Publish(VirtioBlkOutHdr.TypeIn, 0);
        b.Kick();
        b.WaitForUsed(1);

        Assert.NotNull(worker);
        Assert.True(worker.IsBackground);
        Assert.Equal("lguest block worker", worker.Name);
    }

    /// <summary>
    /// A worker thread that completed two requests (the first of type <paramref name="firstType"/>,
    /// the second a read) and stopped on the third, whose header is a byte short.
    /// </summary>
    private static Harness StoppedOnTheThird(uint firstType)
    {
        var b = new Harness(onCaller: false);
        b.Publish(firstType, 0);
        b.Publish(VirtioBlkOutHdr.TypeIn, 1);
        b.PublishBadHeader();
        b.Kick();
        b.WaitForFault();
        return b;
    }

    /// <summary>
    /// A block device on a real device page. Request <c>i</c> is descriptors <c>3i</c> (header),
    /// <c>3i+1</c> (one sector) and <c>3i+2</c> (status) in the page at <c>Buffers + i·4096</c>;
    /// its status byte starts as <see cref="Untouched"/>.
    /// </summary>
    private sealed class Harness : IDisposable
    {
        private ushort _published;

        public Harness(bool onCaller, Action? starting = null)
        {
            Memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
            Device = BlockDevice.Create(new DevicePage(Memory), new MemoryBlockStore(new byte[16 * BlockDevice.SectorSize]), starting);
            Device.ServeOnCallerThread = onCaller;
            Context = new ConsoleHarness.RecordingContext(Memory);
        }

        public ManagedGuestMemory Memory { get; }

        public BlockDevice Device { get; }

        public ConsoleHarness.RecordingContext Context { get; }

        public ushort UsedIdx => GuestRingWrites.UsedIdx(Memory, Device.Queue);

        public byte Status(int i) => Memory.ReadU8(Page(i) + 0xF00);

        public void Publish(uint type, ulong sector) => Publish(type, sector, VirtioBlkOutHdr.Size);

        /// <summary>A request whose header is one byte short: <see cref="GuestFault.BadTypedBuffer"/>.</summary>
        public void PublishBadHeader() => Publish(VirtioBlkOutHdr.TypeIn, 0, VirtioBlkOutHdr.Size - 1);

        public void Kick() => Assert.Null(Device.HandleNotify(Device.Queue, Context));

        public GuestFaultException? SettleFault() => Device.Settle(Context);

        /// <summary>The run loop's reset of the device (spec §5.4): park, clear the record and rings, tell the device.</summary>
        public void Reset()
        {
            Device.PrepareReset();
            Device.Record.Reset();
            Device.OnReset();
            _published = 0;
        }

        public void WaitForUsed(int n) => WaitFor(() => UsedIdx == n, $"{n} used entries");

        public void WaitForFault() => WaitFor(() => Device.PendingFault is not null, "the worker's fault");

        public void Dispose() => Device.Dispose();

        private static ulong Page(int i) => Buffers + ((ulong)i * 0x1000);

        private static void WaitFor(Func<bool> condition, string what)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!condition())
            {
                Assert.True(clock.Elapsed < Patience, $"no {what} within {Patience.TotalSeconds} s");
                Thread.Sleep(1);
            }
        }

        private void Publish(uint type, ulong sector, uint headerLength)
        {
            int i = _published;
            ulong page = Page(i);
            new VirtioBlkOutHdr(type, 0, sector).Write(Memory.GetSpan(page, VirtioBlkOutHdr.Size));
            Memory.WriteU8(page + 0xF00, Untouched);
            ushort d = (ushort)(3 * i);
            ushort dataFlags = type == VirtioBlkOutHdr.TypeOut ? (ushort)0 : VringDesc.FlagWrite;
            GuestRingWrites.SetDesc(Memory, Device.Queue, d, page, headerLength, VringDesc.FlagNext, (ushort)(d + 1));
            GuestRingWrites.SetDesc(Memory, Device.Queue, (ushort)(d + 1), page + 0x200, BlockDevice.SectorSize, (ushort)(dataFlags | VringDesc.FlagNext), (ushort)(d + 2));
            GuestRingWrites.SetDesc(Memory, Device.Queue, (ushort)(d + 2), page + 0xF00, 1, VringDesc.FlagWrite);
            GuestRingWrites.Publish(Memory, Device.Queue, d);
            _published++;
        }
    }
}
