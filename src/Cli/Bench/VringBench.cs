using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime;
using System.Runtime.CompilerServices;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Cli.Bench;

/// <summary>What one timed run of <see cref="VringBench"/> measured.</summary>
/// <param name="Chains">Chains popped and completed.</param>
/// <param name="Checksum">Sum of every header's sector plus the data buffer's length, as in the C program.</param>
/// <param name="ElapsedNanoseconds">Wall-clock time of the timed loop.</param>
internal readonly record struct VringBenchResult(long Chains, ulong Checksum, double ElapsedNanoseconds)
{
    /// <summary>The figure compared with <c>vring_baseline.c</c>.</summary>
    public double NanosecondsPerChain => ElapsedNanoseconds / Chains;
}

/// <summary>
/// The reference vring workload of <c>shared/bench/README.md</c> (<c>vring_baseline.c</c>),
/// with the host side going through the engine's own <see cref="Virtqueue"/>.
/// </summary>
/// <remarks>
/// <para>
/// The memory layout is the C program's: the ring at guest address 0 (desc table, avail at
/// 2048, used at 4096), and 42 block-style chains laid out once from 1 MiB, 8 KiB apart,
/// each a 16-byte readable header, a 4096-byte writable data buffer and a 1-byte writable
/// status. The guest side here is deliberately thin: it writes avail entries and indices
/// straight into its one span of the avail ring, so nearly all the time measured is the
/// engine's pop and add-used, plus the device's reads and writes of two buffers per chain.
/// The device side drains through one <see cref="VirtqueueRing"/> per round, as the
/// Launcher's console and net devices do on a notify and the block worker does per pass.
/// </para>
/// <para>
/// Each round is the C program's loop body: the guest posts every free chain (at most 42 in
/// flight) and publishes avail.idx, the host drains the ring, the guest reclaims what was used.
/// </para>
/// </remarks>
internal sealed class VringBench
{
    private const ushort QueueSize = LguestLayout.VirtqueueNum;
    private const int DescriptorsPerChain = 3;
    private const int ChainSlots = QueueSize / DescriptorsPerChain;
    private const ulong MemorySize = 64UL << 20;
    private const uint RingPfn = 0;
    private const ushort RingIrq = 1;
    private const ulong DataBase = 1UL << 20;
    private const ulong ChainStride = 8192;

    /// <summary>Where a chain's data buffer starts, from its header (the C program's <c>buf + 64</c>).</summary>
    private const ulong DataOffset = 4096;
    private const uint HeaderLength = VirtioBlkOutHdr.Size;
    private const uint DataLength = 4096;
    private const uint StatusLength = 1;

    /// <summary>Offset of <c>sector</c> in <c>struct virtio_blk_outhdr</c>.</summary>
    private const int SectorOffset = 8;

    /// <summary>Rounds per warm-up batch: about 42,000 chains, a millisecond or two once optimised.</summary>
    private const int WarmUpBatchRounds = 1000;

    /// <summary>
    /// The shortest warm-up: tiered compilation waits 100 ms after the last new method
    /// before it starts counting calls, then recompiles hot methods twice (instrumented, then
    /// optimised with the profile).
    /// </summary>
    private static readonly TimeSpan s_minWarmUp = TimeSpan.FromMilliseconds(500);

    /// <summary>How long the JIT must have compiled nothing before the warm-up may end.</summary>
    /// <remarks>
    /// Tiered compilation only starts counting calls once no new method has been compiled
    /// for 100 ms, and on a one-CPU machine it waits ten times as long; until then the JIT
    /// is quiet because it has not started, not because it has finished. The quiet time
    /// must be longer than that wait.
    /// </remarks>
    private static readonly TimeSpan s_jitQuietTime = TimeSpan.FromMilliseconds(Environment.ProcessorCount == 1 ? 2000 : 500);

    /// <summary>Upper bound on the warm-up, however busy the machine.</summary>
    private static readonly TimeSpan s_maxWarmUp = TimeSpan.FromSeconds(10);

    private readonly ManagedGuestMemory _memory;
    private readonly Virtqueue _queue;
    private readonly ulong _availIdxAddress;
    private readonly ulong _usedIdxAddress;
    private readonly long _chains;

    // Guest side.
    private ushort _availIdx;
    private ushort _guestUsedIdx;
    private long _posted;
    private long _done;

    // Host (device) side.
    private ulong _checksum;

    private VringBench(long chains)
    {
        _chains = chains;
        _memory = new ManagedGuestMemory(MemorySize);
        _queue = new Virtqueue(_memory, new LguestVqConfig(QueueSize, RingIrq, RingPfn));

        VringLayout layout = _queue.Layout;
        ulong ring = _queue.RingAddress;
        _availIdxAddress = ring + (ulong)layout.AvailOffset + VringRingHeader.IdxOffset;
        _usedIdxAddress = ring + (ulong)layout.UsedOffset + VringRingHeader.IdxOffset;

        for (int c = 0; c < ChainSlots; c++)
        {
            ushort d0 = (ushort)(DescriptorsPerChain * c);
            ulong header = DataBase + ((ulong)c * ChainStride);
            WriteDescriptor(d0, new VringDesc(header, HeaderLength, VringDesc.FlagNext, (ushort)(d0 + 1)));
            WriteDescriptor(d0 + 1, new VringDesc(header + DataOffset, DataLength, VringDesc.FlagNext | VringDesc.FlagWrite, (ushort)(d0 + 2)));
            WriteDescriptor(d0 + 2, new VringDesc(header + HeaderLength, StatusLength, VringDesc.FlagWrite, 0));
        }
    }

    /// <summary>
    /// Warms up once, then times <paramref name="runs"/> runs of <paramref name="chains"/>
    /// chains, each on a fresh ring and guest memory.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chains"/> or <paramref name="runs"/> is not positive.</exception>
    public static VringBenchResult[] Measure(long chains, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chains);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(runs);

        WarmUp();
        var results = new VringBenchResult[runs];
        for (int i = 0; i < runs; i++)
        {
            results[i] = new VringBench(chains).Run();
        }

        return results;
    }

    /// <summary>
    /// Runs rounds on a throwaway ring until tiered compilation has settled: at least
    /// <see cref="s_minWarmUp"/>, and no method compiled for <see cref="s_jitQuietTime"/>.
    /// </summary>
    /// <remarks>
    /// A fixed warm-up is not enough on a loaded machine: the background thread that
    /// recompiles the round competes for the CPU too, and a timed run that starts before it
    /// is done measures unoptimised code. The JIT's own count of compiled methods says when
    /// it has finished.
    /// </remarks>
    private static void WarmUp()
    {
        VringBench bench = new(long.MaxValue);
        long start = Stopwatch.GetTimestamp();
        long lastJitChange = start;
        long compiled = JitInfo.GetCompiledMethodCount();
        while (true)
        {
            for (int i = 0; i < WarmUpBatchRounds; i++)
            {
                bench.Round();
            }

            long now = Stopwatch.GetTimestamp();
            long count = JitInfo.GetCompiledMethodCount();
            if (count != compiled)
            {
                compiled = count;
                lastJitChange = now;
            }

            TimeSpan elapsed = Stopwatch.GetElapsedTime(start, now);
            bool settled = elapsed >= s_minWarmUp && Stopwatch.GetElapsedTime(lastJitChange, now) >= s_jitQuietTime;
            if (settled || elapsed >= s_maxWarmUp)
            {
                return;
            }
        }
    }

    private VringBenchResult Run()
    {
        long start = Stopwatch.GetTimestamp();
        while (_done < _chains)
        {
            Round();
        }

        long end = Stopwatch.GetTimestamp();
        double ns = (end - start) * 1e9 / Stopwatch.Frequency;
        return new VringBenchResult(_chains, _checksum, ns);
    }

    // Kept out of line so that it is the method tiered compilation counts, instruments and
    // recompiles during the warm-up, rather than a loop body inlined into a run-once method.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Round()
    {
        PostFreeChains();
        Drain();
        Reclaim();
    }

    /// <summary>Guest: offer every chain not in flight, then publish the new avail.idx.</summary>
    private void PostFreeChains()
    {
        // The guest's own view of its avail ring: idx, then ring[num], taken once per round.
        Span<byte> avail = _memory.GetSpan(_availIdxAddress, VringRingHeader.Size - VringRingHeader.IdxOffset + (2 * QueueSize));
        Span<byte> ringEntries = avail[2..];
        ushort availIdx = _availIdx;
        long posted = _posted;
        long done = _done;
        for (int c = 0; c < ChainSlots && posted - done < ChainSlots && posted < _chains; c++)
        {
            ushort head = (ushort)(DescriptorsPerChain * (int)(posted % ChainSlots));
            BinaryPrimitives.WriteUInt16LittleEndian(ringEntries.Slice(2 * (availIdx % QueueSize), 2), head);
            availIdx++;
            posted++;
        }

        // ORDERING: the ring entries must be visible before the index that publishes them
        // (the C program's release store; a virtio guest's wmb() before updating avail.idx).
        Volatile.WriteBarrier();
        BinaryPrimitives.WriteUInt16LittleEndian(avail[..2], availIdx);
        _availIdx = availIdx;
        _posted = posted;
    }

    /// <summary>Host: pop every available chain, read its header, write its status, complete it.</summary>
    private void Drain()
    {
        ulong checksum = _checksum;
        VirtqueueRing ring = _queue.OpenRing();
        while (ring.TryPop(out DescriptorChain chain))
        {
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(chain.GetSpan(0).Slice(SectorOffset, 8));

            ReadOnlySpan<GuestBuffer> buffers = chain.Buffers;
            uint dataLength = buffers[1].Length;
            checksum += sector + dataLength;

            chain.GetSpan(buffers.Length - 1)[0] = VirtioBlkOutHdr.StatusOk;
            ring.AddUsed(chain.Head, dataLength + 1);
        }

        _checksum = checksum;
    }

    /// <summary>Guest: count the chains the host has put on the used ring since last time.</summary>
    private void Reclaim()
    {
        ushort usedIdx = _memory.ReadU16(_usedIdxAddress);

        // ORDERING: a real driver would read the used elements after this index; the
        // barrier keeps those reads from moving above it (the C program reads no elements).
        Volatile.ReadBarrier();
        _done += (ushort)(usedIdx - _guestUsedIdx);
        _guestUsedIdx = usedIdx;
    }

    private void WriteDescriptor(int index, VringDesc descriptor) =>
        descriptor.Write(_memory.GetSpan(_queue.RingAddress + ((ulong)index * VringDesc.Size), VringDesc.Size));
}
