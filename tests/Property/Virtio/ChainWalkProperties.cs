using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LguestSim.Engine;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Virtio;

/// <summary>
/// The chain walker is total (spec §4.5): for any ring a guest can write, popping either
/// yields a chain that meets every invariant or raises a <see cref="GuestFaultException"/>;
/// never another exception, never a read outside <c>[0, guest_limit)</c>, and always the
/// same answer as <see cref="ReferenceQueue"/>.
/// </summary>
public class ChainWalkProperties
{
    /// <summary>Builds the ring the hostile guest wrote, with the engine's last_avail_idx already moved.</summary>
    private static (TestRing Ring, ReferenceQueue Reference) Build(HostileRing hostile)
    {
        TestRing ring = TestRing.Create(hostile.Num, hostile.Capacity, hostile.Limit, hostile.Pfn);
        ring.AdvanceLastAvail(hostile.StartLastAvail);
        ring.SetDescTable(hostile.DescTable);
        for (int slot = 0; slot < hostile.Num; slot++)
        {
            ring.SetAvailEntry(slot, hostile.AvailRing[slot]);
        }

        ring.AvailFlags = hostile.AvailFlags;
        ring.AvailIdx = hostile.AvailIdx;
        var reference = new ReferenceQueue(ring.Memory.Bytes, hostile.RingAddress, hostile.Num, hostile.Limit, hostile.StartLastAvail);
        return (ring, reference);
    }

    /// <summary>
    /// Pops until the engine says empty or faults; returns every outcome. With
    /// <paramref name="throughView"/>, every pop goes through one <see cref="VirtqueueRing"/>
    /// opened before the first, as a device draining the queue does.
    /// </summary>
    private static List<PopOutcome> PopAll(HostileRing hostile, TestRing ring, ReferenceQueue reference, bool throughView = false)
    {
        var outcomes = new List<PopOutcome>();
        VirtqueueRing view = ring.Queue.OpenRing();
        for (int pop = 0; pop <= hostile.Num; pop++)
        {
            PopOutcome actual = throughView ? PopOutcome.FromRing(view) : ring.Pop();
            PopOutcome expected = reference.Pop();
            outcomes.Add(actual);
            Assert.True(actual.Kind != PopKind.Unexpected, $"pop {pop}: {actual}");
            if (actual.Kind == PopKind.Chain)
            {
                AssertChainInvariants(actual, hostile);
            }

            Assert.Equal(expected.ToString(), actual.ToString());
            Assert.Equal(reference.LastAvail, ring.Queue.LastAvailIndex);
            if (actual.Kind != PopKind.Chain)
            {
                return outcomes;
            }
        }

        Assert.Fail($"more than num={hostile.Num} chains popped although at most num can be available");
        return outcomes;
    }

    /// <summary>Every invariant of spec §4.5, checked against the table bytes the guest wrote.</summary>
    private static void AssertChainInvariants(PopOutcome chain, HostileRing hostile)
    {
        int count = chain.Buffers.Count;
        Assert.InRange(chain.Head, 0, hostile.Num - 1);
        Assert.InRange(count, 1, hostile.Num);
        Assert.Equal(count, chain.ReadableCount + chain.WritableCount);
        Assert.Equal((chain.ReadableCount, chain.WritableCount), chain.SliceLengths);

        ulong writableBytes = 0;
        int i = chain.Head;
        for (int k = 0; k < count; k++)
        {
            GuestBuffer b = chain.Buffers[k];
            Assert.True(b.Address < hostile.Limit && (UInt128)b.Address + b.Length <= hostile.Limit, $"buffer {k} 0x{b.Address:x}+0x{b.Length:x} escapes limit 0x{hostile.Limit:x}");

            ReadOnlySpan<byte> d = hostile.DescTable.AsSpan(16 * i, 16);
            Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(d), b.Address);
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(d[8..]), b.Length);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            bool writable = (flags & 2) != 0;
            Assert.True(writable == (k >= chain.ReadableCount), $"buffer {k} (desc {i}) is on the wrong side of the readable/writable split");
            Assert.True(((flags & 1) != 0) == (k < count - 1), $"desc {i}: NEXT flag disagrees with the chain's length");
            if (writable)
            {
                writableBytes += b.Length;
            }

            i = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
        }

        Assert.Equal(writableBytes, chain.WritableBytes);
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 500 * PropertyScale.Factor)]
    public void Pop_AnyRing_IsTotalAndAgreesWithReference(HostileRing hostile) => CheckTotal(hostile, throughView: false);

    /// <summary>The same through a ring view held across every pop: same checks, same answers.</summary>
    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void Pop_AnyRingThroughOneView_IsTotalAndAgreesWithReference(HostileRing hostile) => CheckTotal(hostile, throughView: true);

    private static void CheckTotal(HostileRing hostile, bool throughView)
    {
        (TestRing ring, ReferenceQueue reference) = Build(hostile);

        PopAll(hostile, ring, reference, throughView);

        // The guest is dead to the Launcher after a fault, but popping again must stay total.
        PopOutcome again = ring.Pop();
        Assert.True(again.Kind != PopKind.Unexpected, $"pop after the end: {again}");

        // No Assert.Empty(Violations) here: a pop reads through two windows made once (the
        // ring, and [0, limit) for the buffers), so the recording memory sees those and nothing
        // the pop slices out of them. A window past the limit throws inside the pop (an
        // Unexpected outcome, caught above); each buffer is checked against the limit in
        // AssertChainInvariants.

        // Popping only reads: the guest's descriptor table and avail ring are untouched.
        Assert.Equal(Convert.ToHexString(hostile.DescTable), Convert.ToHexString(ring.Memory.Bytes, (int)hostile.RingAddress, 16 * hostile.Num));
        for (int slot = 0; slot < hostile.Num; slot++)
        {
            Assert.Equal(hostile.AvailRing[slot], BinaryPrimitives.ReadUInt16LittleEndian(ring.Memory.Bytes.AsSpan(ring.AvailAddress + 4 + (2 * slot))));
        }
    }

    /// <summary>
    /// Guards the properties above against a vacuous generator: across a fixed-seed sample,
    /// every outcome of spec §4.5 occurs, including multi-buffer chains and chains that mix
    /// readable and writable buffers.
    /// </summary>
    [Fact]
    public void HostileRingGenerator_ReachesEveryOutcome()
    {
        var seen = new Dictionary<string, int>();
        void Count(string key) => seen[key] = seen.GetValueOrDefault(key) + 1;

        foreach (HostileRing hostile in VirtioArbitraries.HostileRingGen.Sample(300, new Rnd(20260501), 50))
        {
            (TestRing ring, ReferenceQueue reference) = Build(hostile);
            foreach (PopOutcome outcome in PopAll(hostile, ring, reference))
            {
                Count(outcome.Kind == PopKind.Fault ? outcome.Fault.ToString() : outcome.Kind.ToString());
                if (outcome.Kind == PopKind.Chain && outcome.Buffers.Count > 1)
                {
                    Count("multi-buffer chain");
                }

                if (outcome.Kind == PopKind.Chain && outcome.ReadableCount > 0 && outcome.WritableCount > 0)
                {
                    Count("mixed chain");
                }
            }

            if (ring.Queue.LastAvailIndex < hostile.StartLastAvail)
            {
                Count("last_avail wrapped");
            }
        }

        string[] expected =
        [
            nameof(PopKind.Chain), nameof(PopKind.Empty), "multi-buffer chain", "mixed chain", "last_avail wrapped",
            .. Enum.GetNames<GuestFault>().Take(6),
        ];
        string summary = string.Join(", ", seen.Select(kv => $"{kv.Key}={kv.Value}"));
        Assert.All(expected, key => Assert.True(seen.GetValueOrDefault(key) >= 5, $"{key} too rare: {summary}"));
    }
}
