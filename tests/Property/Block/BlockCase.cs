using System.Text;
using FsCheck;
using FsCheck.Fluent;
using LguestSim.Engine;
using LguestSim.Engine.Abi;

namespace LguestSim.Tests.Property.Block;

/// <summary>One guest block request: type bits, start sector and the exact data segment lengths.</summary>
/// <param name="Type">IN 0, OUT 1, SCSI_CMD 2, BARRIER 0x80000000.</param>
/// <param name="Sector">Start sector.</param>
/// <param name="Segments">Data segment lengths (1..126 of them, zero allowed).</param>
/// <param name="Seed">For writes, the seed of the data written.</param>
public sealed record BlockOp(uint Type, ulong Sector, int[] Segments, int Seed)
{
    public bool IsScsi => (Type & VirtioBlkOutHdr.TypeScsiCmd) != 0;

    public bool IsWrite => !IsScsi && (Type & VirtioBlkOutHdr.TypeOut) != 0;

    public bool IsRead => !IsScsi && (Type & VirtioBlkOutHdr.TypeOut) == 0;

    public bool IsBarrier => (Type & VirtioBlkOutHdr.TypeBarrier) != 0;

    public int Length => Segments.Sum();

    /// <summary>The bytes a write carries (a xorshift stream from <see cref="Seed"/>).</summary>
    public byte[] Data()
    {
        byte[] data = new byte[Length];
        if (IsWrite || (IsScsi && (Type & VirtioBlkOutHdr.TypeOut) != 0))
        {
            ulong x = ((ulong)Seed * 0x9E3779B97F4A7C15UL) | 1;
            for (int i = 0; i < data.Length; i++)
            {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data[i] = (byte)x;
            }
        }

        return data;
    }

    public override string ToString() =>
        $"{(IsScsi ? "scsi" : IsWrite ? "write" : "read")}{(IsBarrier ? "+barrier" : string.Empty)} type=0x{Type:x} sector={Sector} segs=[{string.Join(",", Segments)}] seed={Seed}";
}

/// <summary>A disk of <see cref="Length"/> bytes and the batches of requests a guest sends, each with one kick.</summary>
public sealed record BlockCase(int Length, int DiskSeed, BlockOp[][] Batches, BlockOp? PastEnd = null, MalformedRequest? Malformed = null)
{
    public override string ToString()
    {
        var sb = new StringBuilder($"disk {Length} bytes (seed {DiskSeed})");
        for (int b = 0; b < Batches.Length; b++)
        {
            sb.Append($"\n  batch {b}:");
            foreach (BlockOp op in Batches[b])
            {
                sb.Append($"\n    {op}");
            }
        }

        if (PastEnd is not null)
        {
            sb.Append($"\n  then, alone: {PastEnd}");
        }

        if (Malformed is not null)
        {
            sb.Append($"\n  then, alone: {Malformed}");
        }

        return sb.ToString();
    }
}

/// <summary>Generators for <see cref="BlockModelProperties"/>.</summary>
public static class BlockArbitraries
{
    private const int MaxSegments = 126;

    /// <summary>Cases that stay inside the file: every request must be served.</summary>
    public static Arbitrary<BlockCase> Cases() =>
        (from length in DiskLength()
         from seed in Gen.Choose(0, 1000)
         from batches in Batch(length).ArrayOf().Where(a => a.Length > 0).Resize(5)
         select new BlockCase(length, seed, batches)).ToArbitrary();

    /// <summary>Cases whose last request writes past the end of the file.</summary>
    internal static Gen<BlockCase> PastEndCases() =>
        from length in DiskLength()
        from seed in Gen.Choose(0, 1000)
        from batches in Batch(length).ArrayOf().Resize(3)
        from pastEnd in PastEndWrite(length)
        select new BlockCase(length, seed, batches, pastEnd);

    /// <summary>1..64 sectors, sometimes with a partial last sector.</summary>
    private static Gen<int> DiskLength() =>
        from sectors in Gen.Choose(1, 64)
        from tail in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 511)))
        select (sectors * 512) + tail;

    /// <summary>1..8 requests, all in flight together.</summary>
    private static Gen<BlockOp[]> Batch(int length) =>
        Gen.Choose(1, 8).SelectMany(n => Op(length).ArrayOf(n));

    /// <summary>The largest sector whose byte offset still fits a signed 64-bit seek offset.</summary>
    internal const ulong LastSeekableSector = (ulong)long.MaxValue / 512;

    /// <summary>Type bits the spec gives no meaning: the device must ignore them.</summary>
    private const uint UnknownTypeBits = ~(VirtioBlkOutHdr.TypeOut | VirtioBlkOutHdr.TypeScsiCmd | VirtioBlkOutHdr.TypeBarrier);

    private static Gen<BlockOp> Op(int length) =>
        from kind in Gen.Frequency((4, Gen.Constant(0)), (4, Gen.Constant(1)), (1, Gen.Elements(2, 3)))
        from barrier in Gen.Frequency((3, Gen.Constant(0u)), (1, Gen.Constant(VirtioBlkOutHdr.TypeBarrier)))
        from unknown in Gen.Frequency((6, Gen.Constant(0u)), (1, Gen.Choose(int.MinValue, int.MaxValue).Select(v => (uint)v & UnknownTypeBits)))
        from segments in SegmentLengths()
        from seed in Gen.Choose(0, 100000)
        from sector in Gen.Frequency(
            (12, Gen.Choose(0, (length / 512) + 3).Select(v => (ulong)v)),
            (1, Gen.Elements(LastSeekableSector, LastSeekableSector - 1, 1UL << 40)))
        select Shape((uint)kind | barrier | unknown, sector, segments, seed, length);

    /// <summary>No data segment at all (header and status only), or 1..126, mostly few; lengths from 0 up, sector-sized ones weighted in.</summary>
    private static Gen<int[]> SegmentLengths() =>
        from count in Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Choose(1, 4)), (2, Gen.Choose(1, MaxSegments)), (2, Gen.Constant(MaxSegments)))
        from lengths in Gen.Frequency(
            (3, Gen.Choose(0, 700)),
            (2, Gen.Choose(1, 4).Select(k => k * 512)),
            (1, Gen.Constant(0)),
            (1, Gen.Choose(1, 3))).ArrayOf(count)
        select lengths;

    /// <summary>Cases whose last request, a read or a write, names a sector whose byte offset overflows a seek (sector ≥ 2^54, many ≥ 2^55).</summary>
    internal static Gen<BlockCase> BadSectorCases() =>
        from length in DiskLength()
        from seed in Gen.Choose(0, 1000)
        from batches in Batch(length).ArrayOf().Resize(3)
        from type in Gen.Elements(VirtioBlkOutHdr.TypeIn, VirtioBlkOutHdr.TypeOut, VirtioBlkOutHdr.TypeOut | VirtioBlkOutHdr.TypeBarrier)
        from sector in Gen.Frequency(
            (1, Gen.Elements(LastSeekableSector + 1, 1UL << 55, (1UL << 55) + 1, 1UL << 63, ulong.MaxValue)),
            (2, Gen.Choose(0, int.MaxValue).Select(v => (LastSeekableSector + 1) + ((ulong)v * 0x1_0000_0001UL % ((ulong.MaxValue - LastSeekableSector) - 1)))))
        from segments in Gen.Elements<int[]>([], [512], [0], [100, 412])
        select new BlockCase(length, seed, batches, new BlockOp(type, sector, segments, 1));

    /// <summary>A write is moved and trimmed to end inside the file; other requests go anywhere.</summary>
    private static BlockOp Shape(uint type, ulong sector, int[] segments, int seed, int length)
    {
        var op = new BlockOp(type, sector, segments, seed);
        if (!op.IsWrite)
        {
            return op;
        }

        ulong lastSector = (ulong)length / 512;
        ulong start = Math.Min(sector, lastSector);
        int room = length - (int)(start * 512);
        int[] trimmed = new int[segments.Length];
        int used = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            trimmed[i] = Math.Min(segments[i], room - used);
            used += trimmed[i];
        }

        return op with { Sector = start, Segments = trimmed };
    }

    /// <summary>A write of at least one byte that ends past the end of the file.</summary>
    private static Gen<BlockOp> PastEndWrite(int length) =>
        from sector in Gen.Choose(0, (length / 512) + 2)
        from barrier in Gen.Elements(0u, VirtioBlkOutHdr.TypeBarrier)
        from extra in Gen.Choose(1, 2048)
        from pieces in Gen.Choose(1, 4)
        from seed in Gen.Choose(0, 1000)
        let total = Math.Max(1, length - (sector * 512) + extra)
        select new BlockOp(VirtioBlkOutHdr.TypeOut | barrier, (ulong)sector, Split(total, pieces), seed);

    private static int[] Split(int total, int pieces)
    {
        int[] lengths = new int[pieces];
        for (int i = 0; i < pieces; i++)
        {
            lengths[i] = (total / pieces) + (i < total % pieces ? 1 : 0);
        }

        return lengths;
    }
}

/// <summary>
/// A request chain a driver would never build: the header missing, mis-sized or misaligned, the
/// status byte missing or mis-sized, data of either direction on either side.
/// </summary>
/// <param name="Type">The header's type field (a read, a write, SCSI, with or without barrier).</param>
/// <param name="HeaderLength">The first readable buffer's length (16 is the right size), or -1 for no header at all.</param>
/// <param name="HeaderMisalign">Bytes added to the header's 8-aligned address (0 or 4: still 4-aligned, as i386's struct needs).</param>
/// <param name="ReadableData">Lengths of readable buffers after the header.</param>
/// <param name="WritableData">Lengths of writable buffers before the status.</param>
/// <param name="StatusLength">The last writable buffer's length (1 is the right size), or -1 for none.</param>
public sealed record MalformedRequest(uint Type, int HeaderLength, int HeaderMisalign, int[] ReadableData, int[] WritableData, int StatusLength)
{
    /// <summary>Readable descriptors in the chain (lguest's <c>out</c>).</summary>
    public int Out => (HeaderLength >= 0 ? 1 : 0) + ReadableData.Length;

    /// <summary>Writable descriptors in the chain (lguest's <c>in</c>).</summary>
    public int In => WritableData.Length + (StatusLength >= 0 ? 1 : 0);

    /// <summary>
    /// The fault spec §5.3 steps 1–2 give, written out independently of the device: no readable
    /// or no writable descriptor; else iov[0] checked as the 16-byte header, 4-aligned (its u64
    /// is 4-aligned on i386), size first as lguest's <c>convert()</c>; else iov[last] as the
    /// 1-byte status. Null when the
    /// request is well formed after all.
    /// </summary>
    public GuestFault? ExpectedFault
    {
        get
        {
            if (Out == 0 || In == 0)
            {
                return GuestFault.BlockBadRequestShape;
            }

            // With no header, iov[0] is the first readable data buffer; it is checked as the header.
            int firstReadable = HeaderLength >= 0 ? HeaderLength : ReadableData[0];
            bool firstAligned = HeaderLength < 0 || HeaderMisalign % 4 == 0;
            if (firstReadable != VirtioBlkOutHdr.Size || !firstAligned)
            {
                return GuestFault.BadTypedBuffer;
            }

            int last = StatusLength >= 0 ? StatusLength : WritableData[^1];
            return last != 1 ? GuestFault.BadTypedBuffer : null;
        }
    }

    public override string ToString() =>
        $"malformed type=0x{Type:x} header={HeaderLength}+{HeaderMisalign} readable=[{string.Join(",", ReadableData)}] writable=[{string.Join(",", WritableData)}] status={StatusLength} (expect {ExpectedFault})";
}

/// <summary>Generators for cases that end in a malformed request.</summary>
public static class BlockMalformedArbitraries
{
    public static Arbitrary<BlockCase> Cases() =>
        (from length in Gen.Choose(1, 16).Select(s => s * 512)
         from seed in Gen.Choose(0, 1000)
         from bad in Malformed().Where(m => m.ExpectedFault is not null)
         select new BlockCase(length, seed, [[new BlockOp(VirtioBlkOutHdr.TypeOut, 0, [512], seed)]], Malformed: bad)).ToArbitrary();

    private static Gen<MalformedRequest> Malformed() =>
        from type in Gen.Elements(VirtioBlkOutHdr.TypeIn, VirtioBlkOutHdr.TypeOut, VirtioBlkOutHdr.TypeScsiCmd, VirtioBlkOutHdr.TypeOut | VirtioBlkOutHdr.TypeBarrier)
        from header in Gen.Frequency((1, Gen.Constant(-1)), (3, Gen.Constant(VirtioBlkOutHdr.Size)), (3, Gen.Elements(0, 1, 8, 15, 17, 24, 32, 512)))
        from misalign in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 7)))
        from readable in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 3))).SelectMany(n => Gen.Elements(0, 1, 16, 512).ArrayOf(n))
        from writable in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 3))).SelectMany(n => Gen.Elements(0, 1, 16, 512).ArrayOf(n))
        from status in Gen.Frequency((1, Gen.Constant(-1)), (3, Gen.Constant(1)), (3, Gen.Elements(0, 2, 4, 16, 512)))
        select new MalformedRequest(type, header, misalign, readable, writable, status);
}

/// <summary>Generators for cases that end in a request at a sector no seek can reach.</summary>
public static class BlockBadSectorArbitraries
{
    public static Arbitrary<BlockCase> Cases() => BlockArbitraries.BadSectorCases().ToArbitrary();
}

/// <summary>Generators for cases that end in a write past the end of the file.</summary>
public static class BlockPastEndArbitraries
{
    public static Arbitrary<BlockCase> Cases() => BlockArbitraries.PastEndCases().ToArbitrary();
}
