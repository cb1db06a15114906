using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct vring_used_elem</c>: one completed chain.</summary>
/// <remarks>Spec §4.1. id u32 @0 (head index), len u32 @4 (bytes written).</remarks>
/// <param name="Id">Head descriptor index of the chain.</param>
/// <param name="Len">Bytes the device wrote into the chain's writable buffers.</param>
public readonly record struct VringUsedElem(uint Id, uint Len)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 8;

    /// <summary>Decodes from the first 8 bytes of <paramref name="source"/>.</summary>
    public static VringUsedElem Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..8]));

    /// <summary>Encodes into the first 8 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..8], Len);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Id);
    }
}
