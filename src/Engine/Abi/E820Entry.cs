using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct e820entry</c>: one entry of the boot memory map.</summary>
/// <remarks>Spec §7.6. addr u64 @0, size u64 @8, type u32 @16; packed, 20 bytes.</remarks>
/// <param name="Addr">Start address.</param>
/// <param name="Length">Length in bytes.</param>
/// <param name="Type">1 = E820_RAM.</param>
public readonly record struct E820Entry(ulong Addr, ulong Length, uint Type)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 20;

    /// <summary><c>E820_RAM</c>.</summary>
    public const uint TypeRam = 1;

    /// <summary>Decodes from the first 20 bytes of <paramref name="source"/>.</summary>
    public static E820Entry Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[16..20]));

    /// <summary>Encodes into the first 20 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..20], Type);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Addr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Length);
    }
}
