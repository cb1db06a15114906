using System.Buffers.Binary;
using LguestSim.Engine;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>
/// A deliberately plain re-reading of spec §4.5 (<c>get_vq_desc</c>), independent of the
/// engine: it reads the raw bytes, does the bounds check in <see cref="UInt128"/> arithmetic,
/// and returns the chain or the fault code the spec prescribes. Accepts a buffer ending
/// exactly at the limit (the engine's documented decision).
/// </summary>
public sealed class ReferenceQueue
{
    private readonly byte[] _memory;
    private readonly ulong _ring;
    private readonly int _num;
    private readonly ulong _limit;

    public ReferenceQueue(byte[] memory, ulong ringAddress, int num, ulong limit, ushort lastAvail)
    {
        _memory = memory;
        _ring = ringAddress;
        _num = num;
        _limit = limit;
        LastAvail = lastAvail;
    }

    public ushort LastAvail { get; private set; }

    public PopOutcome Pop()
    {
        int avail = (int)_ring + (16 * _num);
        int availIdx = BinaryPrimitives.ReadUInt16LittleEndian(_memory.AsSpan(avail + 2));

        // Step 1: more than num new entries is fatal. Step 2: none is "nothing to do".
        int fresh = (availIdx - LastAvail + 65536) % 65536;
        if (fresh > _num)
        {
            return PopOutcome.Faulted(GuestFault.AvailIndexJump);
        }

        if (fresh == 0)
        {
            return PopOutcome.Empty();
        }

        // Steps 3 and 4: the head comes from slot last_avail % num, and last_avail moves on first.
        int head = BinaryPrimitives.ReadUInt16LittleEndian(_memory.AsSpan(avail + 4 + (2 * (LastAvail % _num))));
        LastAvail = (ushort)((LastAvail + 1) % 65536);
        if (head >= _num)
        {
            return PopOutcome.Faulted(GuestFault.HeadIndexOutOfRange);
        }

        // Step 5: walk.
        var buffers = new List<GuestBuffer>();
        int outs = 0;
        int ins = 0;
        int i = head;
        while (true)
        {
            ReadOnlySpan<byte> d = _memory.AsSpan((int)_ring + (16 * i), 16);
            ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            int next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);

            if (!(addr < _limit && (UInt128)addr + len <= _limit))
            {
                return PopOutcome.Faulted(GuestFault.BufferOutOfBounds);
            }

            buffers.Add(new GuestBuffer(addr, len));
            if ((flags & 2) != 0)
            {
                ins++;
            }
            else if (ins > 0)
            {
                return PopOutcome.Faulted(GuestFault.ReadableAfterWritable);
            }
            else
            {
                outs++;
            }

            if (outs + ins > _num)
            {
                return PopOutcome.Faulted(GuestFault.ChainTooLong);
            }

            if ((flags & 1) == 0)
            {
                return PopOutcome.Chain((ushort)head, buffers, outs);
            }

            if (next >= _num)
            {
                return PopOutcome.Faulted(GuestFault.NextIndexOutOfRange);
            }

            i = next;
        }
    }
}
