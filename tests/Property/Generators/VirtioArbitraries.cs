using System.Buffers.Binary;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Generators;

/// <summary>
/// A ring written by a hostile guest: any descriptor table, any avail ring and index, the
/// engine's <c>last_avail_idx</c> moved to any starting point, any guest_limit at or above
/// the ring's end.
/// </summary>
public sealed record HostileRing(
    ushort Num, uint Pfn, ulong Capacity, ulong Limit, ushort StartLastAvail,
    byte[] DescTable, ushort[] AvailRing, ushort AvailFlags, ushort AvailIdx)
{
    public ulong RingAddress => (ulong)Pfn * 4096;

    public override string ToString()
    {
        var sb = new StringBuilder($"num={Num} pfn={Pfn} capacity=0x{Capacity:x} limit=0x{Limit:x} last={StartLastAvail} ");
        sb.Append($"avail.idx={AvailIdx} avail.flags=0x{AvailFlags:x} avail.ring=[{string.Join(",", AvailRing)}] desc=[");
        for (int i = 0; i < Num; i++)
        {
            ReadOnlySpan<byte> d = DescTable.AsSpan(16 * i, 16);
            sb.Append($" {i}:0x{BinaryPrimitives.ReadUInt64LittleEndian(d):x}/0x{BinaryPrimitives.ReadUInt32LittleEndian(d[8..]):x}");
            sb.Append($"/f{BinaryPrimitives.ReadUInt16LittleEndian(d[12..])}/n{BinaryPrimitives.ReadUInt16LittleEndian(d[14..])}");
        }

        return sb.Append(" ]").ToString();
    }
}

/// <summary>4096 random bytes: raw input for byte-level ABI checks (each type reads its prefix).</summary>
public sealed record PageBytes(byte[] Bytes)
{
    public override string ToString() => Convert.ToHexString(Bytes);
}

/// <summary>A <see cref="Engine.Memory.GuestMemory.IsValidRange"/> probe: a memory shape and a range, often extreme.</summary>
public sealed record MemoryRange(ulong Capacity, ulong Limit, ulong Address, ulong Length);

/// <summary>Generators for the property tests; register with <c>Arbitrary = new[] { typeof(VirtioArbitraries) }</c>.</summary>
public static partial class VirtioArbitraries
{
    public static readonly Gen<byte> U8 = Gen.Choose(0, 255).Select(v => (byte)v);

    public static readonly Gen<ushort> U16 = Gen.Frequency(
        (1, Gen.Elements<ushort>(0, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)),
        (4, Gen.Choose(0, 0xFFFF).Select(v => (ushort)v)));

    public static readonly Gen<uint> U32 = Gen.Frequency(
        (1, Gen.Elements<uint>(0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF)),
        (4, Gen.Choose(0, 0xFFFF).SelectMany(hi => Gen.Choose(0, 0xFFFF), (hi, lo) => ((uint)hi << 16) | (uint)lo)));

    public static readonly Gen<ulong> U64 = Gen.Frequency(
        (1, Gen.Elements<ulong>(0, 1, 1UL << 32, (1UL << 32) - 1, 1UL << 63, ulong.MaxValue - 1, ulong.MaxValue)),
        (4, U32.SelectMany(hi => U32, (hi, lo) => ((ulong)hi << 32) | lo)));

    /// <summary>A value in <c>[lo, hi]</c> (inclusive) for any 64-bit bounds.</summary>
    public static Gen<ulong> Between(ulong lo, ulong hi) =>
        hi - lo < int.MaxValue ? Gen.Choose(0, (int)(hi - lo)).Select(v => lo + (ulong)v)
        : hi - lo == ulong.MaxValue ? U64
        : U64.Select(v => lo + (v % (hi - lo + 1)));

    /// <summary>Full-range u64 (FsCheck's default stays small).</summary>
    public static Arbitrary<ulong> UInt64s() => U64.ToArbitrary();

    // ---- ABI types -------------------------------------------------------------------------

    public static Arbitrary<LguestDeviceDesc> DeviceDescs() =>
        (from t in U8 from n in U8 from f in U8 from c in U8 from s in U8 select new LguestDeviceDesc(t, n, f, c, s)).ToArbitrary();

    public static Arbitrary<LguestVqConfig> VqConfigs() =>
        (from n in U16 from irq in U16 from pfn in U32 select new LguestVqConfig(n, irq, pfn)).ToArbitrary();

    public static Arbitrary<VringDesc> VringDescs() =>
        (from a in U64 from l in U32 from f in U16 from n in U16 select new VringDesc(a, l, f, n)).ToArbitrary();

    public static Arbitrary<VringUsedElem> UsedElems() =>
        (from id in U32 from len in U32 select new VringUsedElem(id, len)).ToArbitrary();

    public static Arbitrary<VringRingHeader> RingHeaders() =>
        (from f in U16 from i in U16 select new VringRingHeader(f, i)).ToArbitrary();

    public static Arbitrary<VirtioNetHdr> NetHdrs() =>
        (from f in U8 from g in U8 from h in U16 from s in U16 from cs in U16 from co in U16
         select new VirtioNetHdr(f, g, h, s, cs, co)).ToArbitrary();

    /// <summary>MACs are 48 bits: the upper 16 bits of the value are always zero.</summary>
    public static Arbitrary<VirtioNetConfig> NetConfigs() =>
        U64.Select(v => new VirtioNetConfig(v & 0xFFFF_FFFF_FFFFUL)).ToArbitrary();

    public static Arbitrary<VirtioBlkConfig> BlkConfigs() =>
        (from c in U64 from sm in U32 from sg in U32 select new VirtioBlkConfig(c, sm, sg)).ToArbitrary();

    public static Arbitrary<VirtioBlkOutHdr> BlkOutHdrs() =>
        (from t in U32 from p in U32 from s in U64 select new VirtioBlkOutHdr(t, p, s)).ToArbitrary();

    public static readonly Gen<E820Entry> E820 = from a in U64 from l in U64 from t in U32 select new E820Entry(a, l, t);

    public static Arbitrary<E820Entry> E820Entries() => E820.ToArbitrary();

    public static Arbitrary<BootParams> BootParamses() =>
        (from n in U8 from e in E820 from v in U16 from tl in U8 from lf in U8
         from ri in U32 from rs in U32 from cl in U32 from hs in U32
         select new BootParams(n, e, v, tl, lf, ri, rs, cl, hs)).ToArbitrary();

    public static Arbitrary<PageBytes> Pages() => Gen.ArrayOf(U8, 4096).Select(b => new PageBytes(b)).ToArbitrary();

    // ---- Guest memory ranges ------------------------------------------------------------------

    public static Arbitrary<MemoryRange> MemoryRanges()
    {
        Gen<ulong> Address(ulong limit) => Gen.Frequency(
            (3, Gen.Elements(0UL, 1UL, limit - 1, limit, limit + 1, ulong.MaxValue, ulong.MaxValue - 1, 1UL << 63, 1UL << 32)),
            (3, Between(0, (2 * limit) + 2)),
            (1, U64));

        Gen<ulong> Length(ulong limit, ulong address) => Gen.Frequency(
            (3, Gen.Elements(0UL, 1UL, limit - address, limit - address + 1, ulong.MaxValue, ulong.MaxValue - address + 1, ulong.MaxValue - address)),
            (3, Between(0, limit + 2)),
            (1, U64));

        // Small memories, and now and then the largest ones guest memory allows (2 GiB - 1).
        return (from capacity in Gen.Frequency(
                    (5, Gen.Elements(0UL, 1UL, 4096UL, 8192UL, 12345UL)),
                    (1, Gen.Elements((ulong)int.MaxValue, (ulong)int.MaxValue - 4095, 1UL << 30)))
                from limit in Between(0, capacity)
                from address in Address(limit)
                from length in Length(limit, address)
                select new MemoryRange(capacity, limit, address, length)).ToArbitrary();
    }

    // ---- Hostile rings -----------------------------------------------------------------------

    /// <summary>vring_size(num, 4096) straight from spec §4.2, independent of the engine.</summary>
    public static int RingBytes(int num) => ((((16 * num) + (2 * (2 + num))) + 4095) / 4096 * 4096) + 4 + (8 * num);

    private static Gen<(ulong Addr, uint Len)> ValidBuffer(ulong limit) =>
        from addr in Between(0, limit - 1)
        from len in Gen.Frequency(
            (4, Between(0, Math.Min(limit - addr, 0x3000))),
            (1, Gen.Constant(limit - addr)))
        select (addr, (uint)len);

    private static Gen<(ulong Addr, uint Len)> AnyBuffer(ulong limit) => Gen.Frequency(
        (8, ValidBuffer(limit)),
        (1, from len in Gen.Choose(0, 64) select (limit - (ulong)len, (uint)len)), // ends at the limit; len 0 starts at it
        (1, from addr in Between(limit >= 64 ? limit - 64 : 0, limit + 64) from len in Gen.Choose(0, 128) select (addr, (uint)len)),
        (1, from addr in U64 from len in U32 select (addr, len)),
        (1, from addr in Between(0, Math.Min(limit - 1, 0x2000)) from len in Gen.Choose(0, 0x2000) select (addr, 0xFFFF_FFFFu - (uint)len)),
        (1, from high in Gen.Choose(1, 0xFFFF) from low in Between(0, limit - 1) select (((ulong)high << 32) | low, 16u)));

    private static Gen<byte[]> DescTable(int num, ulong limit)
    {
        Gen<byte[]> Structured(bool validBounds) =>
            Gen.CollectToArray(Enumerable.Range(0, num), i =>
                from buffer in validBounds ? ValidBuffer(limit) : AnyBuffer(limit)
                from flags in Gen.Frequency((8, Gen.Choose(0, 3).Select(f => (ushort)f)), (1, U16))
                from next in Gen.Frequency(
                    (6, Gen.Choose(0, num - 1)),
                    (2, Gen.Constant(i)),
                    (1, Gen.Choose(num, num + 2)),
                    (1, U16.Select(v => (int)v)))
                select (buffer.Addr, buffer.Len, flags, next: (ushort)next))
            .Select(descs =>
            {
                byte[] table = new byte[16 * num];
                for (int i = 0; i < num; i++)
                {
                    Span<byte> d = table.AsSpan(16 * i);
                    BinaryPrimitives.WriteUInt64LittleEndian(d, descs[i].Addr);
                    BinaryPrimitives.WriteUInt32LittleEndian(d[8..], descs[i].Len);
                    BinaryPrimitives.WriteUInt16LittleEndian(d[12..], descs[i].flags);
                    BinaryPrimitives.WriteUInt16LittleEndian(d[14..], descs[i].next);
                }

                return table;
            });

        return Gen.Frequency(
            (1, Gen.ArrayOf(U8, 16 * num)),
            (3, Structured(validBounds: true)),
            (4, Structured(validBounds: false)));
    }

    public static readonly Gen<HostileRing> HostileRingGen =
        from exp in Gen.Frequency((64, Gen.Choose(0, 4)), (24, Gen.Choose(5, 7)), (8, Gen.Choose(8, 9)), (1, Gen.Elements(10, 15)))
        from pfn in Gen.Choose(0, 3)
        from extraPages in Gen.Choose(0, 3)
        let num = 1 << exp
        let ringEnd = ((ulong)pfn * 4096) + (ulong)RingBytes(num)
        let capacity = ((ulong)pfn + (ulong)((RingBytes(num) + 4095) / 4096) + (ulong)extraPages) * 4096
        from limit in Gen.Frequency((2, Gen.Constant(capacity)), (1, Gen.Constant(ringEnd)), (3, Between(ringEnd, capacity)))
        from last in Gen.Frequency(
            (4, Gen.Constant(0)),
            (5, Gen.Choose(0, 300)),
            (2, Gen.Choose(1, num).Select(k => 65536 - k)),
            (1, Gen.Choose(65535 - 300, 65535)),
            (1, Gen.Choose(0, 65535)))
        from table in DescTable(num, limit)
        from ring in Gen.ArrayOf(Gen.Frequency((8, Gen.Choose(0, num - 1)), (1, Gen.Choose(num, 0xFFFF))).Select(h => (ushort)h), num)
        from flags in U16
        from delta in Gen.Frequency(
            (8, Gen.Choose(1, num)),
            (1, Gen.Constant(0)),
            (1, Gen.Choose(num + 1, num + 3)),
            (1, Gen.Choose(0, 0xFFFF)))
        select new HostileRing((ushort)num, (uint)pfn, capacity, limit, (ushort)last, table, ring, flags, (ushort)(last + delta));

    public static Arbitrary<HostileRing> HostileRings() => HostileRingGen.ToArbitrary();

    // ---- Queue workloads -----------------------------------------------------------------

    private static readonly Gen<uint> CompletionLength = Gen.Frequency((4, Gen.Choose(0, 8192).Select(v => (uint)v)), (1, U32));

    private static Gen<GuestBuffer> DataBuffer =>
        from len in Gen.Choose(0, 4096)
        from offset in Gen.Choose(0, (int)QueueScenario.DataSize - 4096)
        select new GuestBuffer(QueueScenario.DataStart + (ulong)offset, (uint)len);

    private static Gen<GuestOp> AddChainGen(int num) =>
        from total in Gen.Frequency((8, Gen.Choose(1, Math.Min(num, 4))), (1, Gen.Choose(1, num)))
        from readable in Gen.Choose(0, total)
        from r in Gen.ArrayOf(DataBuffer, readable)
        from w in Gen.ArrayOf(DataBuffer, total - readable)
        select (GuestOp)new AddChain(r, w);

    private static Gen<GuestOp> OpGen(int num) => Gen.Frequency(
        (5, AddChainGen(num)),
        (3, Gen.Constant<GuestOp>(new Kick())),
        (2, from k in Gen.Choose(1, 4) from len in CompletionLength select (GuestOp)new HostPopAndComplete(k, len)),
        (1, CompletionLength.Select(len => (GuestOp)new HostPopAll(len))),
        (1, Gen.Choose(1, 3).Select(k => (GuestOp)new HostPopHold(k))),
        (2, from i in Gen.Choose(0, 1000) from len in CompletionLength select (GuestOp)new HostCompleteHeld(i, len)),
        (2, Gen.Choose(1, 4).Select(k => (GuestOp)new GuestReclaim(k))),
        (1, Gen.Constant<GuestOp>(new DisableCallbacks())),
        (1, Gen.Constant<GuestOp>(new EnableCallbacks())));

    public static Arbitrary<QueueScenario> QueueScenarios() =>
        (from num in Gen.Elements<ushort>(1, 2, 4, 8, 16, 128)
         from hasHandler in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
         from hasCallback in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
         from k in Gen.Frequency((4, Gen.Choose(0, 80)), (1, Gen.Choose(81, 300)))
         from count in Gen.Choose(20, 120)
         from ops in Gen.ArrayOf(OpGen(num), count)
         select new QueueScenario(num, hasHandler, hasCallback, 65536 - k, ops)).ToArbitrary();
}
