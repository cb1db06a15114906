using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct vring_desc</c>: one entry of a descriptor table.</summary>
/// <remarks>Spec §4.1. addr u64 @0, len u32 @8, flags u16 @12, next u16 @14.</remarks>
/// <param name="Addr">Guest-physical buffer address.</param>
/// <param name="Len">Buffer length in bytes.</param>
/// <param name="Flags"><see cref="VringDesc.FlagNext"/> and/or <see cref="VringDesc.FlagWrite"/>.</param>
/// <param name="Next">Index of the next descriptor when NEXT is set.</param>
public readonly record struct VringDesc(ulong Addr, uint Len, ushort Flags, ushort Next)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 16;

    /// <summary><c>VRING_DESC_F_NEXT</c>: the chain continues at <c>next</c>.</summary>
    public const ushort FlagNext = 1;

    /// <summary><c>VRING_DESC_F_WRITE</c>: the device writes this buffer.</summary>
    public const ushort FlagWrite = 2;

    /// <summary>Decodes from the first 16 bytes of <paramref name="source"/>.</summary>
    public static VringDesc Read(ReadOnlySpan<byte> source)
    {
        source = source[..Size];
        return new(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[12..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[14..]));
    }

    /// <summary>Encodes into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Addr);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Len);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[12..], Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[14..], Next);
    }
}
