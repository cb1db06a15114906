namespace LguestSim.Engine.Abi;

/// <summary><c>struct lguest_device_desc</c>: the 5-byte header of a device record on the device page.</summary>
/// <remarks>Spec §3.1. Packed; the variable part follows at offset 5.</remarks>
/// <param name="Type">Device id (1 net, 2 block, 3 console); 0 ends the list.</param>
/// <param name="NumVq">Number of vqconfig entries that follow.</param>
/// <param name="FeatureLen">Bytes in each of the two feature bitmaps.</param>
/// <param name="ConfigLen">Bytes of device config after the bitmaps.</param>
/// <param name="Status">Virtio status bits, written by the guest.</param>
public readonly record struct LguestDeviceDesc(byte Type, byte NumVq, byte FeatureLen, byte ConfigLen, byte Status)
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 5;

    /// <summary>Offset of <c>status</c>.</summary>
    public const int StatusOffset = 4;

    /// <summary>Decodes the header from the first 5 bytes of <paramref name="source"/>.</summary>
    public static LguestDeviceDesc Read(ReadOnlySpan<byte> source) =>
        new(source[0], source[1], source[2], source[3], source[4]);

    /// <summary>Encodes the header into the first 5 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[4] = Status;
        destination[0] = Type;
        destination[1] = NumVq;
        destination[2] = FeatureLen;
        destination[3] = ConfigLen;
    }

    /// <summary>Total record size: <c>5 + 8*num_vq + 2*feature_len + config_len</c> (spec §3.2).</summary>
    public int RecordSize => Size + (LguestVqConfig.Size * NumVq) + (2 * FeatureLen) + ConfigLen;
}
