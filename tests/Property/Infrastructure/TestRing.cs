using System.Buffers.Binary;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>
/// One engine <see cref="Virtqueue"/> over a <see cref="RecordingGuestMemory"/>, plus raw
/// "guest stores" into its ring: the test plays a guest that writes whatever it likes.
/// </summary>
public sealed class TestRing
{
    private TestRing(RecordingGuestMemory memory, Virtqueue queue)
    {
        Memory = memory;
        Queue = queue;
    }

    public RecordingGuestMemory Memory { get; }

    public Virtqueue Queue { get; }

    public int Num => Queue.Config.Num;

    public ulong RingAddress => Queue.RingAddress;

    /// <summary>Ring address plus <c>16 * num</c>, computed here from the spec, not from the engine.</summary>
    public int AvailAddress => (int)RingAddress + (16 * Num);

    /// <summary>First 4096-aligned offset at or after the end of avail (spec §4.2).</summary>
    public int UsedAddress => (int)RingAddress + ((((16 * Num) + 4 + (2 * Num)) + 4095) / 4096 * 4096);

    public static TestRing Create(ushort num, ulong capacity, ulong limit, uint pfn = 1, bool hasHandler = true)
    {
        var memory = new RecordingGuestMemory(capacity, limit);
        var queue = new Virtqueue(memory, new LguestVqConfig(num, 1, pfn), hasHandler);
        return new TestRing(memory, queue);
    }

    public void SetDesc(int index, ulong addr, uint len, ushort flags, ushort next)
    {
        Span<byte> d = Memory.Bytes.AsSpan((int)RingAddress + (16 * index), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    public void SetDescTable(ReadOnlySpan<byte> table) => table.CopyTo(Memory.Bytes.AsSpan((int)RingAddress, 16 * Num));

    public ushort AvailFlags
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Bytes.AsSpan(AvailAddress));
        set => BinaryPrimitives.WriteUInt16LittleEndian(Memory.Bytes.AsSpan(AvailAddress), value);
    }

    public ushort AvailIdx
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Bytes.AsSpan(AvailAddress + 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(Memory.Bytes.AsSpan(AvailAddress + 2), value);
    }

    public void SetAvailEntry(int slot, ushort head) =>
        BinaryPrimitives.WriteUInt16LittleEndian(Memory.Bytes.AsSpan(AvailAddress + 4 + (2 * slot)), head);

    /// <summary>Puts <paramref name="head"/> at <c>avail.ring[avail.idx % num]</c> and publishes it.</summary>
    public void Offer(ushort head)
    {
        SetAvailEntry(AvailIdx % Num, head);
        AvailIdx++;
    }

    public ushort UsedFlags => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Bytes.AsSpan(UsedAddress));

    public ushort UsedIdx
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(Memory.Bytes.AsSpan(UsedAddress + 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(Memory.Bytes.AsSpan(UsedAddress + 2), value);
    }

    public (uint Id, uint Len) UsedElem(int slot)
    {
        ReadOnlySpan<byte> e = Memory.Bytes.AsSpan(UsedAddress + 4 + (8 * slot), 8);
        return (BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]));
    }

    public PopOutcome Pop() => PopOutcome.FromEngine(Queue);

    /// <summary>
    /// Moves the engine's private <c>last_avail_idx</c> to <paramref name="target"/> the only
    /// way a guest can: by offering (and the engine popping) that many one-descriptor chains.
    /// </summary>
    public void AdvanceLastAvail(ushort target)
    {
        SetDesc(0, RingAddress, 0, 0, 0);
        for (int slot = 0; slot < Num; slot++)
        {
            SetAvailEntry(slot, 0);
        }

        while (Queue.LastAvailIndex != target)
        {
            int step = Math.Min(Num, (ushort)(target - Queue.LastAvailIndex));
            AvailIdx = (ushort)(Queue.LastAvailIndex + step);
            for (int k = 0; k < step; k++)
            {
                if (!Queue.TryPop(out _))
                {
                    throw new InvalidOperationException("warm-up pop found nothing");
                }
            }
        }
    }
}
