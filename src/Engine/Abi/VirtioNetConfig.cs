namespace LguestSim.Engine.Abi;

/// <summary><c>struct virtio_net_config</c>: the net device's config bytes, the MAC.</summary>
/// <remarks>Spec §3.5, §5.2. 6 bytes; offered with VIRTIO_NET_F_MAC (bit 5).</remarks>
/// <param name="Mac">The 6-byte hardware address, packed into the low 48 bits, first byte lowest.</param>
public readonly record struct VirtioNetConfig(ulong Mac)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 6;

    /// <summary><c>VIRTIO_NET_F_CSUM</c>.</summary>
    public const int FeatureCsum = 0;

    /// <summary><c>VIRTIO_NET_F_MAC</c>.</summary>
    public const int FeatureMac = 5;

    /// <summary>Builds the config from 6 MAC bytes.</summary>
    public static VirtioNetConfig FromBytes(ReadOnlySpan<byte> mac) => Read(mac);

    /// <summary>Decodes from the first 6 bytes of <paramref name="source"/>.</summary>
    public static VirtioNetConfig Read(ReadOnlySpan<byte> source)
    {
        ulong mac = 0;
        for (int i = Size - 1; i >= 0; i--)
        {
            mac = (mac << 8) | source[i];
        }

        return new(mac);
    }

    /// <summary>Encodes into the first 6 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        for (int i = 0; i < Size; i++)
        {
            destination[i] = (byte)(Mac >> (8 * i));
        }
    }
}
