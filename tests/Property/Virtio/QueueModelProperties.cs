using System.Buffers.Binary;
using FsCheck.Xunit;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Virtio;

/// <summary>
/// Model-based test of one queue: the engine's <see cref="Virtqueue"/> (host side) and the
/// simulated <see cref="GuestDriverQueue"/> (guest side) share one guest memory, a generated
/// op list drives both, and after every op both must agree with <see cref="QueueModel"/>.
/// Every case first pushes ~65536 chains through so that the 16-bit indices wrap.
/// </summary>
public class QueueModelProperties
{
    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 25 * PropertyScale.Factor)]
    public void Queue_AnyOpSequenceAcrossIndexWrap_MatchesModel(QueueScenario scenario)
    {
        var harness = new Harness(scenario);
        harness.WarmUp();
        harness.Check("after warm-up");

        for (int step = 0; step < scenario.Ops.Length; step++)
        {
            harness.Apply(scenario.Ops[step]);
            harness.Check($"step {step} {scenario.Ops[step]}");
        }

        harness.DrainPastWrap();
        Assert.Empty(harness.Model.InFlightHeads);
        Assert.Equal(scenario.Num, harness.Guest.NumFree);
    }

    private sealed class Harness
    {
        private static readonly GuestBuffer s_warmBuffer = new(QueueScenario.DataStart, 1);
        private readonly QueueScenario _scenario;
        private readonly Dictionary<int, object> _tokens = new();
        private readonly int _usedAddress;
        private long _notifies;
        private long _interrupts;
        private long _modelInterrupts;
        private int _nextId;

        public Harness(QueueScenario scenario)
        {
            _scenario = scenario;
            Memory = new RecordingGuestMemory(QueueScenario.MemorySize);
            var config = new LguestVqConfig(scenario.Num, 1, QueueScenario.RingPfn);
            Host = new Virtqueue(Memory, config, scenario.HasHandler);
            Guest = new GuestDriverQueue(new LocalGuestPhysicalMemory(Memory), config, _ => _notifies++, scenario.HasCallback);
            Model = new QueueModel(scenario.Num, noNotify: !scenario.HasHandler, noInterrupt: !scenario.HasCallback);
            int ring = (int)QueueScenario.RingPfn * 4096;
            _usedAddress = ring + ((((18 * scenario.Num) + 4) + 4095) / 4096 * 4096);
        }

        public RecordingGuestMemory Memory { get; }

        public Virtqueue Host { get; }

        public GuestDriverQueue Guest { get; }

        public QueueModel Model { get; }

        private ushort Base => (ushort)_scenario.WarmUp;

        private ushort RawUsedIdx => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Bytes.AsSpan(_usedAddress + 2));

        /// <summary>Publishes, pops, completes and reclaims WarmUp one-buffer chains, a ring-full at a time.</summary>
        public void WarmUp()
        {
            object token = new();
            for (int remaining = _scenario.WarmUp; remaining > 0;)
            {
                int batch = Math.Min(_scenario.Num, remaining);
                for (int i = 0; i < batch; i++)
                {
                    Assert.True(Guest.TryAddBuf([s_warmBuffer], [], token) >= 0);
                }

                Guest.Kick();
                for (int i = 0; i < batch; i++)
                {
                    Assert.True(Host.TryPop(out DescriptorChain chain));
                    Host.AddUsed(chain.Head, 0);
                }

                for (int i = 0; i < batch; i++)
                {
                    Assert.True(Guest.TryGetBuf(out _, out _, out _));
                }

                remaining -= batch;
            }

            Model.Notifies = _notifies;
        }

        public void Check(string where)
        {
            Assert.True(RawUsedIdx == (ushort)(Base + Model.Completed), $"{where}: used.idx {RawUsedIdx} != completed");
            Assert.True(Guest.UsedIndex == RawUsedIdx, $"{where}: guest sees another used.idx");
            Assert.True(Host.LastAvailIndex == (ushort)(Base + Model.Popped), $"{where}: last_avail_idx {Host.LastAvailIndex}");
            Assert.True(Guest.AvailIndex == (ushort)(Base + Model.Published), $"{where}: avail.idx {Guest.AvailIndex}");
            Assert.True(Guest.Pending == Model.Staged.Count, $"{where}: pending {Guest.Pending} != {Model.Staged.Count}");
            Assert.True(Guest.NumFree == Model.FreeCount, $"{where}: num_free {Guest.NumFree} != {Model.FreeCount}");
            Assert.True(Guest.HasUsed == (Model.Used.Count > 0), $"{where}: HasUsed {Guest.HasUsed}");
            Assert.False(Guest.IsBroken, $"{where}: guest ring broken");
            Assert.True(Host.ShouldInterrupt() == !Model.NoInterrupt, $"{where}: ShouldInterrupt disagrees with NO_INTERRUPT");
            Assert.True(Guest.CallbacksDisabled == Model.NoInterrupt, $"{where}: callbacks disabled {Guest.CallbacksDisabled}");
            Assert.True(Host.NoNotify == !_scenario.HasHandler, $"{where}: NO_NOTIFY {Host.NoNotify}");
            Assert.True(_notifies == Model.Notifies, $"{where}: {_notifies} notifies, model {Model.Notifies}");
            Assert.True(_interrupts == _modelInterrupts, $"{where}: {_interrupts} interrupts, model {_modelInterrupts}");

            // A head is handed out again only after it came back: in-flight heads are distinct.
            int inFlight = Model.Staged.Count + Model.Available.Count + Model.Held.Count + Model.Used.Count;
            Assert.True(Model.InFlightHeads.Count == inFlight, $"{where}: a head is in flight twice");
        }

        public void Apply(GuestOp op)
        {
            switch (op)
            {
                case AddChain add:
                    AddOne(add.Readable, add.Writable);
                    break;
                case Kick:
                    bool expected = Model.Kick();
                    Assert.Equal(expected, Guest.Kick());
                    break;
                case HostPopAndComplete pc:
                    for (int i = 0; i < pc.Count && PopOne() is OfferedChain c; i++)
                    {
                        Complete(c, pc.Length + (uint)i);
                    }

                    break;
                case HostPopAll all:
                    // Drained the way a device does on a notify: one ring view for the lot.
                    VirtqueueRing ring = Host.OpenRing();
                    while (PopOne(ring) is OfferedChain c)
                    {
                        Complete(c, all.Length, ring);
                    }

                    break;
                case HostPopHold hold:
                    for (int i = 0; i < hold.Count && PopOne() is OfferedChain c; i++)
                    {
                        Model.Held.Add(c);
                    }

                    break;
                case HostCompleteHeld held when Model.Held.Count > 0:
                    OfferedChain chosen = Model.Held[held.Index % Model.Held.Count];
                    Model.Held.Remove(chosen);
                    Complete(chosen, held.Length);
                    break;
                case HostCompleteHeld:
                    break;
                case GuestReclaim reclaim:
                    for (int i = 0; i < reclaim.Count && ReclaimOne(); i++)
                    {
                    }

                    break;
                case DisableCallbacks:
                    Guest.DisableCallbacks();
                    Model.DisableCallbacks();
                    break;
                case EnableCallbacks:
                    Assert.Equal(Model.EnableCallbacks(), Guest.EnableCallbacks());
                    break;
                default:
                    throw new InvalidOperationException($"unknown op {op}");
            }
        }

        /// <summary>Finishes everything in flight, then cycles single chains until used.idx has crossed 65535 → 0.</summary>
        public void DrainPastWrap()
        {
            while (Model.Held.Count > 0)
            {
                Apply(new HostCompleteHeld(0, 1));
                Check("drain held");
            }

            GuestOp[] cycle = [new AddChain([s_warmBuffer], []), new Kick(), new HostPopAll(3), new GuestReclaim(_scenario.Num + 1)];
            do
            {
                foreach (GuestOp op in cycle)
                {
                    Apply(op);
                    Check($"drain {op}");
                }
            }
            while (_scenario.WarmUp + Model.Completed <= 65536 || Model.Staged.Count + Model.Available.Count + Model.Used.Count > 0);
        }

        private void AddOne(GuestBuffer[] readable, GuestBuffer[] writable)
        {
            int id = _nextId++;
            object token = new Token(id);
            bool room = Model.HasRoomFor(readable.Length + writable.Length);
            int head = Guest.TryAddBuf(readable, writable, token);
            if (!room)
            {
                Assert.Equal(-1, head);
                return;
            }

            Assert.InRange(head, 0, _scenario.Num - 1);
            Assert.DoesNotContain(head, Model.InFlightHeads);
            _tokens[id] = token;
            Model.Add(new OfferedChain(id, head, readable, writable));
        }

        /// <summary>Pops from the engine; the model says what (if anything) must come out.</summary>
        private OfferedChain? PopOne() => Check(Model.Pop(), PopOutcome.FromEngine(Host));

        private OfferedChain? PopOne(VirtqueueRing ring) => Check(Model.Pop(), PopOutcome.FromRing(ring));

        private static OfferedChain? Check(OfferedChain? expected, PopOutcome actual)
        {
            if (expected is null)
            {
                Assert.Equal(PopKind.Empty, actual.Kind);
                return null;
            }

            Assert.Equal(PopKind.Chain, actual.Kind);
            Assert.Equal(expected.Head, actual.Head);
            Assert.Equal(expected.Readable.Length, actual.ReadableCount);
            Assert.Equal(expected.Readable.Concat(expected.Writable), actual.Buffers);
            return expected;
        }

        private void Complete(OfferedChain chain, uint length)
        {
            ushort before = BeforeComplete(chain);
            Host.AddUsed((ushort)chain.Head, length);
            AfterComplete(chain, length, before);
        }

        private void Complete(OfferedChain chain, uint length, VirtqueueRing ring)
        {
            ushort before = BeforeComplete(chain);
            ring.AddUsed((ushort)chain.Head, length);
            AfterComplete(chain, length, before);
        }

        private ushort BeforeComplete(OfferedChain chain)
        {
            Assert.Contains(chain.Head, Model.InFlightHeads);
            Assert.DoesNotContain(Model.Used, u => u.Chain.Head == chain.Head);
            return RawUsedIdx;
        }

        private void AfterComplete(OfferedChain chain, uint length, ushort before)
        {
            ReadOnlySpan<byte> elem = Memory.Bytes.AsSpan(_usedAddress + 4 + (8 * (before % _scenario.Num)), 8);
            Assert.Equal((uint)chain.Head, BinaryPrimitives.ReadUInt32LittleEndian(elem));
            Assert.Equal(length, BinaryPrimitives.ReadUInt32LittleEndian(elem[4..]));
            Model.Complete(chain, length);

            if (Host.ShouldInterrupt())
            {
                _interrupts++;
            }

            if (!Model.NoInterrupt)
            {
                _modelInterrupts++;
            }
        }

        private bool ReclaimOne()
        {
            var expected = Model.Reclaim();
            bool got = Guest.TryGetBuf(out object? token, out uint length, out ushort head);
            if (expected is null)
            {
                Assert.False(got, "guest reclaimed a chain nobody completed");
                return false;
            }

            Assert.True(got, $"guest could not reclaim {expected.Value.Chain}");
            Assert.Same(_tokens[expected.Value.Chain.Id], token);
            Assert.Equal(expected.Value.Length, length);
            Assert.Equal(expected.Value.Chain.Head, head);
            _tokens.Remove(expected.Value.Chain.Id);
            return true;
        }

        private sealed record Token(int Id);
    }
}
