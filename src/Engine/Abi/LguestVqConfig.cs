using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct lguest_vqconfig</c>: one virtqueue's description on the device page.</summary>
/// <remarks>Spec §3.1. 8 bytes, stored unaligned.</remarks>
/// <param name="Num">Descriptor count.</param>
/// <param name="Irq">Interrupt line for the queue.</param>
/// <param name="Pfn">Page frame number of the ring start.</param>
public readonly record struct LguestVqConfig(ushort Num, ushort Irq, uint Pfn)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 8;

    /// <summary>Decodes from the first 8 bytes of <paramref name="source"/>.</summary>
    public static LguestVqConfig Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(source),
        BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..8]));

    /// <summary>Encodes into the first 8 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..8], Pfn);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Num);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], Irq);
    }
}
