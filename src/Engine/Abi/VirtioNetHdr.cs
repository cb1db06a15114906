using System.Buffers.Binary;

namespace LguestSim.Engine.Abi;

/// <summary><c>struct virtio_net_hdr</c>: the 10-byte header before every frame.</summary>
/// <remarks>Spec §5.2. Alignment 2.</remarks>
/// <param name="Flags">NEEDS_CSUM = 1.</param>
/// <param name="GsoType">NONE 0, TCPV4 1, UDP 3, TCPV6 4; ECN 0x80.</param>
/// <param name="HdrLen">Header length.</param>
/// <param name="GsoSize">Segment size.</param>
/// <param name="CsumStart">Checksum start.</param>
/// <param name="CsumOffset">Checksum offset.</param>
public readonly record struct VirtioNetHdr(byte Flags, byte GsoType, ushort HdrLen, ushort GsoSize, ushort CsumStart, ushort CsumOffset)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 10;

    /// <summary>Required alignment of the buffer holding it.</summary>
    public const int Alignment = 2;

    /// <summary>Decodes from the first 10 bytes of <paramref name="source"/>.</summary>
    public static VirtioNetHdr Read(ReadOnlySpan<byte> source)
    {
        source = source[..Size];
        return new(
            source[0],
            source[1],
            BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[8..]));
    }

    /// <summary>Encodes into the first 10 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], CsumOffset);
    }
}
