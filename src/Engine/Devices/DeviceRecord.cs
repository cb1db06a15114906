using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices;

/// <summary>
/// One device's record on the device page, and the engine's trusted copy of its shape:
/// type, queues, offered features and config length.
/// </summary>
/// <remarks>
/// Construction follows spec §3.3 in order: queues first, then features, then config.
/// lguest.c enforces the order with <c>assert()</c>; here a violation is an
/// <see cref="InvalidOperationException"/> (a Launcher bug, never a guest's doing).
/// </remarks>
public sealed class DeviceRecord
{
    private readonly DevicePage _page;
    private readonly List<Virtqueue> _queues = new();
    private byte[] _offered = [];
    private int _configLen;

    internal DeviceRecord(DevicePage page, VirtioDeviceType type, string name, int offset)
    {
        _page = page;
        Type = type;
        Name = name;
        Offset = offset;
        new LguestDeviceDesc((byte)type, 0, 0, 0, 0).Write(PageSpan(offset, LguestDeviceDesc.Size));
    }

    /// <summary>The device id.</summary>
    public VirtioDeviceType Type { get; }

    /// <summary>The name used in messages ("net", "block", "console").</summary>
    public string Name { get; }

    /// <summary>Offset of the record within the device page.</summary>
    public int Offset { get; }

    /// <summary>Guest-physical address of the record: the exact notify value that resets the device.</summary>
    public ulong DescriptorAddress => _page.Address + (ulong)Offset;

    /// <summary>The device's queues, in creation order.</summary>
    public IReadOnlyList<Virtqueue> Queues => _queues;

    /// <summary>The engine's copy of <c>feature_len</c>.</summary>
    public int FeatureLength => _offered.Length;

    /// <summary>The engine's copy of <c>config_len</c>.</summary>
    public int ConfigLength => _configLen;

    /// <summary>The engine's copy of the offered (host) feature bytes.</summary>
    public ReadOnlySpan<byte> OfferedFeatures => _offered;

    /// <summary>Offset within the page of the first config byte.</summary>
    public int ConfigOffset => Offset + LguestDeviceDesc.Size + (LguestVqConfig.Size * _queues.Count) + (2 * _offered.Length);

    /// <summary>Offset just past the record's last byte, where the next record starts.</summary>
    internal int EndOffset => ConfigOffset + _configLen;

    private int HostFeaturesOffset => Offset + LguestDeviceDesc.Size + (LguestVqConfig.Size * _queues.Count);

    private int AckFeaturesOffset => HostFeaturesOffset + _offered.Length;

    /// <summary>
    /// Adds a virtqueue: allocates its ring pages and the next irq and appends its vqconfig.
    /// </summary>
    /// <exception cref="InvalidOperationException">Features or config were already added (lguest.c asserts), or another device follows this one.</exception>
    /// <exception cref="LauncherException">The vqconfig would not fit in the page, the ring pages pass guest_max, or the irq would be 32 or more.</exception>
    /// <remarks>lguest.c <c>add_virtqueue()</c>; unlike the original, the page bound is checked.</remarks>
    public Virtqueue AddVirtqueue(ushort num = LguestLayout.VirtqueueNum, bool hasHandler = true)
    {
        if (_offered.Length != 0 || _configLen != 0)
        {
            throw new InvalidOperationException($"{Name}: a virtqueue cannot be added after features or config");
        }

        EnsureLast();

        EnsureFits(EndOffset + LguestVqConfig.Size);
        var layout = new VringLayout(num);
        ushort irq = _page.AllocateIrq();
        ulong ring = _page.AllocatePages(layout.Pages);
        var config = new LguestVqConfig(num, irq, (uint)(ring / LguestLayout.PageSize));
        config.Write(PageSpan(EndOffset, LguestVqConfig.Size));
        var vq = new Virtqueue(_page.Memory, config, hasHandler);
        _queues.Add(vq);
        PageSpan(Offset, LguestDeviceDesc.Size)[1] = (byte)_queues.Count;
        return vq;
    }

    /// <summary>Offers feature <paramref name="bit"/> in the host half.</summary>
    /// <exception cref="InvalidOperationException">The bitmaps would grow after config was set (lguest.c asserts).</exception>
    /// <exception cref="LauncherException">The bitmaps would not fit in the page.</exception>
    /// <remarks>lguest.c <c>add_feature()</c>.</remarks>
    public void AddFeature(int bit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bit, (255 * 8) - 1);
        EnsureLast();
        int byteIndex = bit / 8;
        if (byteIndex >= _offered.Length)
        {
            if (_configLen != 0)
            {
                throw new InvalidOperationException($"{Name}: feature bitmaps cannot grow after config");
            }

            int newLen = byteIndex + 1;
            EnsureFits(HostFeaturesOffset + (2 * newLen));
            Array.Resize(ref _offered, newLen);
            PageSpan(Offset, LguestDeviceDesc.Size)[2] = (byte)newLen;
        }

        _offered[byteIndex] |= (byte)(1 << (bit % 8));

        // Rewrite both halves from our copy: if the length just grew, the ack half moved
        // (the original's quirk of §3.3 step 3 cannot arise).
        _offered.CopyTo(PageSpan(HostFeaturesOffset, _offered.Length));
        PageSpan(AckFeaturesOffset, _offered.Length).Clear();
    }

    /// <summary>Sets the device's config bytes.</summary>
    /// <exception cref="LauncherException">"too many devices": the config does not fit in the page.</exception>
    /// <remarks>lguest.c <c>set_config()</c>.</remarks>
    public void SetConfig(ReadOnlySpan<byte> config)
    {
        EnsureLast();
        if (ConfigOffset + config.Length > LguestLayout.PageSize || config.Length > byte.MaxValue)
        {
            ThrowHelper.ThrowLauncher("too many devices");
        }

        config.CopyTo(PageSpan(ConfigOffset, config.Length));
        _configLen = config.Length;
        PageSpan(Offset, LguestDeviceDesc.Size)[3] = (byte)config.Length;
    }

    /// <summary>Whether the Launcher offers feature <paramref name="bit"/>.</summary>
    public bool IsOffered(int bit) => bit >= 0 && bit / 8 < _offered.Length && (_offered[bit / 8] & (1 << (bit % 8))) != 0;

    /// <summary>
    /// Whether the guest acknowledged feature <paramref name="bit"/>: its ack bit is set
    /// <em>and</em> the Launcher offered it. Acks of bits never offered are ignored.
    /// </summary>
    public bool IsAcked(int bit)
    {
        if (!IsOffered(bit))
        {
            return false;
        }

        return (PageSpan(AckFeaturesOffset + (bit / 8), 1)[0] & (1 << (bit % 8))) != 0;
    }

    /// <summary>The acknowledged feature bytes, masked with the offered ones.</summary>
    public byte[] AckedFeatures()
    {
        byte[] acked = PageSpan(AckFeaturesOffset, _offered.Length).ToArray();
        for (int i = 0; i < acked.Length; i++)
        {
            acked[i] &= _offered[i];
        }

        return acked;
    }

    /// <summary>The device's status byte as the guest last wrote it.</summary>
    public VirtioStatus Status => (VirtioStatus)PageSpan(Offset + LguestDeviceDesc.StatusOffset, 1)[0];

    /// <summary>
    /// Resets the device: status 0, acks cleared, every ring zeroed and rewound. The host
    /// half and the config are left alone (spec §5.4).
    /// </summary>
    /// <remarks>lguest.c <c>reset_device()</c>.</remarks>
    public void Reset()
    {
        PageSpan(Offset + LguestDeviceDesc.StatusOffset, 1)[0] = 0;
        PageSpan(AckFeaturesOffset, _offered.Length).Clear();
        foreach (Virtqueue vq in _queues)
        {
            vq.Reset();
        }
    }

    /// <summary>Only the newest record may grow: it ends where the next record would start.</summary>
    private void EnsureLast()
    {
        if (_page.Devices[^1] != this)
        {
            throw new InvalidOperationException($"{Name}: a device record cannot grow after another device was added behind it");
        }
    }

    private static void EnsureFits(int end)
    {
        if (end > LguestLayout.PageSize)
        {
            ThrowHelper.ThrowLauncher("too many devices");
        }
    }

    private Span<byte> PageSpan(int offset, int length) => _page.Memory.GetSpan(_page.Address + (ulong)offset, (ulong)length);
}
