using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct virtio_blk_outhdr</c>: the 16-byte header of every block request.</summary>
/// <remarks>Spec §5.3. type u32 @0, ioprio u32 @4, sector u64 @8. Alignment 4.</remarks>
/// <param name="Type">IN 0; flag bits OUT 1, SCSI_CMD 2, BARRIER 0x80000000.</param>
/// <param name="IoPrio">Request priority.</param>
/// <param name="Sector">Start sector in 512-byte units.</param>
public readonly record struct VirtioBlkOutHdr(uint Type, uint IoPrio, ulong Sector)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 16;

    /// <summary>Required alignment of the buffer holding it.</summary>
    public const int Alignment = 4;

    /// <summary><c>VIRTIO_BLK_T_IN</c>: a read.</summary>
    public const uint TypeIn = 0;

    /// <summary><c>VIRTIO_BLK_T_OUT</c>: a write.</summary>
    public const uint TypeOut = 1;

    /// <summary><c>VIRTIO_BLK_T_SCSI_CMD</c>.</summary>
    public const uint TypeScsiCmd = 2;

    /// <summary><c>VIRTIO_BLK_T_BARRIER</c>.</summary>
    public const uint TypeBarrier = 0x8000_0000;

    /// <summary><c>VIRTIO_BLK_S_OK</c>.</summary>
    public const byte StatusOk = 0;

    /// <summary><c>VIRTIO_BLK_S_IOERR</c>.</summary>
    public const byte StatusIoErr = 1;

    /// <summary><c>VIRTIO_BLK_S_UNSUPP</c>.</summary>
    public const byte StatusUnsupp = 2;

    /// <summary>Decodes from the first 16 bytes of <paramref name="source"/>.</summary>
    public static VirtioBlkOutHdr Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..16]));

    /// <summary>Encodes into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..16], Sector);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], IoPrio);
    }
}
