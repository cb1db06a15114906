using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Xunit;

namespace LguestSim.Tests.Property.Block;

/// <summary>
/// Spec §4.7: one interrupt per completed request, none while the guest has set
/// <c>VRING_AVAIL_F_NO_INTERRUPT</c>, never one per batch.
/// </summary>
/// <remarks>
/// The worker's completions are made to pile up before the run loop takes them: the store
/// holds the requests until the guest, back from its kick, opens a gate; the guest then stays
/// on its turn (no hypercall, so the run loop cannot take a break) until every request is on
/// the used ring, and only then halts. So the run loop takes all <c>n</c> completions at once,
/// and a device that raised one interrupt per batch would raise 1 instead of <c>n</c>.
/// </remarks>
public sealed class BlockInterruptExamples
{
    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void CompletionsTakenTogether_RaiseOneInterruptEach(int n)
    {
        var store = new GatedBlockStore(new byte[64 * 512]);
        int completed = 0;
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            SubmitHeld(driver, store, n, () => completed++);

            // The halt lets the run loop take the break: n interrupts, then the callback
            // completes every request.
            guest.Context.WaitUntil(() => driver.InFlight == 0);
        });

        Assert.True(result.Exit.Kind == LauncherExitKind.GuestDied, $"run ended: {result.Exit}");
        Assert.Equal(n, completed);

        // The probe's partition-table read, then one for each of the n requests.
        Assert.Equal(1 + n, result.Interrupts);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void NoInterruptSet_CompletionsRaiseNone_AndTheUsedRingStillFills(int n)
    {
        var store = new GatedBlockStore(new byte[64 * 512]);
        ushort usedAfter = 0;
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            driver.Queue.DisableCallbacks();
            SubmitHeld(driver, store, n, () => { });

            // A break is pending (the worker signalled its first completion while the guest
            // stayed on its turn): the halt lets the run loop take all n with NO_INTERRUPT set.
            guest.Context.Cpu.Halt();
            usedAfter = driver.Queue.UsedIndex;
        });

        Assert.True(result.Exit.Kind == LauncherExitKind.GuestDied, $"run ended: {result.Exit}");
        Assert.Equal(1 + n, usedAfter);

        // Only the probe's read, made before NO_INTERRUPT was set.
        Assert.Equal(1, result.Interrupts);
    }

    /// <summary>
    /// Submits <paramref name="n"/> one-sector reads and kicks; back on its turn the guest lets
    /// the store serve them and waits, without leaving its turn, until all are used.
    /// </summary>
    private static void SubmitHeld(BlockDriver driver, GatedBlockStore store, int n, Action onCompleted)
    {
        ushort start = driver.Queue.UsedIndex;
        store.Hold();
        for (int i = 0; i < n; i++)
        {
            driver.Submit(new BlockRequest { Type = VirtioBlkOutHdr.TypeIn, Sector = (ulong)i, Data = new byte[512], Completed = _ => onCompleted() });
        }

        driver.Kick();
        store.Release();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((ushort)(driver.Queue.UsedIndex - start) != n)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker did not complete the requests");
            Thread.Yield();
        }

        // The worker counts a completion just after it writes the used entry.
        Thread.Sleep(50);
    }

    /// <summary>A memory store whose reads wait, while held, until released.</summary>
    private sealed class GatedBlockStore(byte[] bytes) : MemoryBlockStore(bytes)
    {
        private readonly ManualResetEventSlim _open = new(true);

        public void Hold() => _open.Reset();

        public void Release() => _open.Set();

        public override long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
        {
            _open.Wait(TimeSpan.FromSeconds(20));
            return base.ReadAt(memory, buffers, offset);
        }
    }
}
