using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct virtio_blk_config</c>: the block device's 16 config bytes.</summary>
/// <remarks>Spec §5.3 step 5. capacity u64 @0, size_max u32 @8, seg_max u32 @12.</remarks>
/// <param name="Capacity">Size in 512-byte sectors.</param>
/// <param name="SizeMax">Largest segment; never offered, so written as 0 (the original left stack garbage).</param>
/// <param name="SegMax">Most data segments per request (126).</param>
public readonly record struct VirtioBlkConfig(ulong Capacity, uint SizeMax, uint SegMax)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 16;

    /// <summary><c>VIRTIO_BLK_F_BARRIER</c>.</summary>
    public const int FeatureBarrier = 0;

    /// <summary><c>VIRTIO_BLK_F_SIZE_MAX</c> (not offered).</summary>
    public const int FeatureSizeMax = 1;

    /// <summary><c>VIRTIO_BLK_F_SEG_MAX</c>.</summary>
    public const int FeatureSegMax = 2;

    /// <summary>Offset of <c>seg_max</c>.</summary>
    public const int SegMaxOffset = 12;

    /// <summary>Decodes from the first 16 bytes of <paramref name="source"/>.</summary>
    public static VirtioBlkConfig Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[12..16]));

    /// <summary>Encodes into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..16], SegMax);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], SizeMax);
    }
}
