using System.Diagnostics;
using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Xunit;

namespace LguestSim.Tests.Property.Block;

/// <summary>Fixed-input tests of the block device through the real Launcher and worker.</summary>
public sealed class BlockDeviceExamples
{
    private const byte Ok = VirtioBlkOutHdr.StatusOk;
    private const byte IoErr = VirtioBlkOutHdr.StatusIoErr;

    [Fact]
    public void InjectedEio_FailsOnlyThoseRequests_AndTheLauncherCarriesOn()
    {
        byte[] disk = Pattern(64 * 512);

        // Read 1 is the probe's; reads 3 and write 1 fail.
        var store = new FailingBlockStore((byte[])disk.Clone()) { FailReads = [3], FailWrites = [1] };
        var seen = new List<BlockRequest>();
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 0, new byte[1024]);
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 2, new byte[1024]);
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut, 8, Fill(512, 0xaa));
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut, 9, Fill(512, 0xbb));
            driver.KickAndWait();

            // The device is still serving: everything succeeds now.
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 2, new byte[1024]);
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut, 8, Fill(512, 0xcc));
            driver.KickAndWait();
        });

        Assert.Equal(LauncherExitKind.GuestDied, result.Exit.Kind);
        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.Equal([Ok, IoErr, IoErr, Ok, Ok, Ok], seen.Select(r => r.Status));
        Assert.Equal([1025u, 1u, 1u, 1u, 1025u, 1u], seen.Select(r => r.UsedLength));
        Assert.Equal(disk.AsSpan(0, 1024).ToArray(), seen[0].ReadBack);
        Assert.Equal(new byte[1024], seen[1].ReadBack);
        Assert.Equal(disk.AsSpan(1024, 1024).ToArray(), seen[4].ReadBack);
        Assert.Equal(Fill(512, 0xcc), store.Bytes.AsSpan(8 * 512, 512).ToArray());
        Assert.Equal(Fill(512, 0xbb), store.Bytes.AsSpan(9 * 512, 512).ToArray());
    }

    [Fact]
    public void ShortWrite_IsIoErr_NotOk()
    {
        var store = new FailingBlockStore(new byte[16 * 512]) { ShortWrites = [1] };
        var seen = new List<BlockRequest>();
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut, 0, Fill(2048, 0x11));
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut, 4, Fill(2048, 0x22));
            driver.KickAndWait();
        });

        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.Equal([IoErr, Ok], seen.Select(r => r.Status));
        Assert.Equal([1u, 1u], seen.Select(r => r.UsedLength));
    }

    [Fact]
    public void FailedBarrierFlush_IsIoErr_AndTheRequestIsNotDone()
    {
        var store = new FailingBlockStore(new byte[16 * 512]) { FailFlushes = [1] };
        var seen = new List<BlockRequest>();
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut | VirtioBlkOutHdr.TypeBarrier, 0, Fill(512, 0x33));
            Submit(driver, seen, VirtioBlkOutHdr.TypeOut | VirtioBlkOutHdr.TypeBarrier, 1, Fill(512, 0x44));
            driver.KickAndWait();
        });

        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.Equal([IoErr, Ok], seen.Select(r => r.Status));
        Assert.Equal(new byte[512], store.Bytes.AsSpan(0, 512).ToArray());
        Assert.Equal(Fill(512, 0x44), store.Bytes.AsSpan(512, 512).ToArray());
    }

    /// <summary>Spec §5.3's observation: a 524388-byte file has 1024 sectors; sector 1024 still reads its 100 bytes.</summary>
    [Fact]
    public void Read_InThePartialLastSector_ReturnsTheBytesThatExist_AndPastTheEndNothing()
    {
        byte[] disk = Pattern(524388);
        var store = new MemoryBlockStore(disk);
        var seen = new List<BlockRequest>();
        ulong capacity = 0;
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            capacity = driver.Capacity;
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 1024, new byte[512]);
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 1025, new byte[512]);
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 5000, new byte[512]);
            driver.KickAndWait();
        });

        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.Equal(1024UL, capacity);
        Assert.Equal([Ok, Ok, Ok], seen.Select(r => r.Status));
        Assert.Equal([101u, 1u, 1u], seen.Select(r => r.UsedLength));
        Assert.Equal([.. disk.AsSpan(524288, 100), .. new byte[412]], seen[0].ReadBack);
        Assert.Equal(new byte[512], seen[1].ReadBack);
    }

    /// <summary>
    /// A reset while the worker is inside a slow request waits for it: the ring is zeroed after
    /// the worker's used entry, not before (used.idx reads 0 after the reset), and the worker
    /// serves the re-probed ring.
    /// </summary>
    [Fact]
    public void Reset_WhileTheWorkerIsBusy_WaitsForIt_ThenTheNewRingIsServed()
    {
        var store = new SlowStore(Pattern(64 * 512)) { Delay = TimeSpan.FromMilliseconds(300) };
        var seen = new List<BlockRequest>();
        ushort usedAfterReset = ushort.MaxValue;
        TimeSpan resetTook = TimeSpan.Zero;
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            store.Slow = true;
            Submit(driver, seen, VirtioBlkOutHdr.TypeIn, 0, new byte[512]);
            driver.Kick();
            Assert.True(store.SlowReadStarted.Wait(TimeSpan.FromSeconds(20)), "the worker never started the read");

            long start = Stopwatch.GetTimestamp();
            guest.Device.Reset();
            resetTook = Stopwatch.GetElapsedTime(start);
            store.Slow = false;
            IGuestPhysicalMemory memory = guest.Context.Memory;
            var vq = LguestVqConfig.Read(memory.ReadBytes(guest.Device.Address + LguestDeviceDesc.Size, LguestVqConfig.Size));
            usedAfterReset = memory.ReadU16(((ulong)vq.Pfn * 4096) + (ulong)new VringLayout(vq.Num).UsedOffset + 2);

            guest.Device.AddStatus(VirtioStatus.Acknowledge);
            BlockDriver again = guest.ProbeDriver();
            Submit(again, seen, VirtioBlkOutHdr.TypeIn, 1, new byte[512]);
            again.KickAndWait();
        });

        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.True(resetTook >= TimeSpan.FromMilliseconds(100), $"the reset took only {resetTook.TotalMilliseconds} ms");
        Assert.Equal(0, usedAfterReset);
        BlockRequest last = seen[^1];
        Assert.Equal(Ok, last.Status);
        Assert.Equal(513u, last.UsedLength);
        Assert.Equal(store.Bytes.AsSpan(512, 512).ToArray(), last.ReadBack);
    }

    private static void Submit(BlockDriver driver, List<BlockRequest> seen, uint type, ulong sector, byte[] data) =>
        driver.Submit(new BlockRequest { Type = type, Sector = sector, Data = data, Completed = seen.Add });

    private static byte[] Fill(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static byte[] Pattern(int length)
    {
        byte[] bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    private sealed class SlowStore(byte[] bytes) : MemoryBlockStore(bytes)
    {
        public TimeSpan Delay { get; init; }

        public volatile bool Slow;

        public ManualResetEventSlim SlowReadStarted { get; } = new();

        public override long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
        {
            if (Slow)
            {
                SlowReadStarted.Set();
                Thread.Sleep(Delay);
            }

            return base.ReadAt(memory, buffers, offset);
        }
    }
}
