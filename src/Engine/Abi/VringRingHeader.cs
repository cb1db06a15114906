using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary>
/// The 4-byte header shared by <c>struct vring_avail</c> and <c>struct vring_used</c>:
/// <c>flags</c> u16 @0, <c>idx</c> u16 @2; the ring entries follow at offset 4.
/// </summary>
/// <remarks>Spec §4.1, §4.3. This era has no used_event/avail_event fields.</remarks>
/// <param name="Flags">NO_INTERRUPT (avail) or NO_NOTIFY (used).</param>
/// <param name="Idx">Free-running u16 index.</param>
public readonly record struct VringRingHeader(ushort Flags, ushort Idx)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 4;

    /// <summary>Offset of <c>idx</c>.</summary>
    public const int IdxOffset = 2;

    /// <summary><c>VRING_AVAIL_F_NO_INTERRUPT</c> (in avail.flags).</summary>
    public const ushort AvailNoInterrupt = 1;

    /// <summary><c>VRING_USED_F_NO_NOTIFY</c> (in used.flags).</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>Decodes from the first 4 bytes of <paramref name="source"/>.</summary>
    public static VringRingHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(source),
        BinaryPrimitives.ReadUInt16LittleEndian(source[2..4]));

    /// <summary>Encodes into the first 4 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..4], Idx);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Flags);
    }
}
