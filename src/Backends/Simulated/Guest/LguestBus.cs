using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The guest's lguest bus (2.6.25 <c>lguest_device.c</c> with <c>virtio.c</c>): scans the
/// device page, resets and acknowledges each device, and gives drivers their config, feature
/// and queue operations. Unlike the Launcher, the guest believes what the page says.
/// </summary>
public sealed class LguestBus
{
    private readonly GuestContext _guest;
    private readonly List<BusDevice> _devices = new();

    /// <summary>Creates the bus for a guest whose device page is at <paramref name="pageAddress"/>.</summary>
    public LguestBus(GuestContext guest, ulong pageAddress)
    {
        _guest = guest;
        PageAddress = pageAddress;
    }

    /// <summary>Guest-physical address of the device page (<c>max_pfn * 4096</c>).</summary>
    public ulong PageAddress { get; }

    /// <summary>Devices found by <see cref="Scan"/>, in page order.</summary>
    public IReadOnlyList<BusDevice> Devices => _devices;

    /// <summary>
    /// Scans the page (spec §8.3): for each record until a zero type, register the device —
    /// a reset notify, then status ACKNOWLEDGE.
    /// </summary>
    public void Scan()
    {
        int offset = 0;
        Span<byte> raw = stackalloc byte[LguestDeviceDesc.Size];
        while (offset < LguestLayout.PageSize)
        {
            ulong address = PageAddress + (ulong)offset;
            _guest.Memory.Read(address, raw);
            var desc = LguestDeviceDesc.Read(raw);
            if (desc.Type == 0)
            {
                break;
            }

            var device = new BusDevice(_guest, _devices.Count, offset, address, desc);
            _devices.Add(device);
            device.Reset();
            device.AddStatus(VirtioStatus.Acknowledge);
            offset += desc.RecordSize;
        }
    }
}

/// <summary>A device on the guest's lguest bus, as its driver sees it.</summary>
public sealed class BusDevice
{
    private readonly GuestContext _guest;

    internal BusDevice(GuestContext guest, int index, int offset, ulong address, LguestDeviceDesc desc)
    {
        _guest = guest;
        Index = index;
        Offset = offset;
        Address = address;
        Desc = desc;
    }

    /// <summary>Bus index (page order).</summary>
    public int Index { get; }

    /// <summary>Offset of the record in the device page.</summary>
    public int Offset { get; }

    /// <summary>Guest-physical address of the record: the reset notify value.</summary>
    public ulong Address { get; }

    /// <summary>The header as read at scan time.</summary>
    public LguestDeviceDesc Desc { get; }

    /// <summary>The device type.</summary>
    public VirtioDeviceType Type => (VirtioDeviceType)Desc.Type;

    /// <summary>The name used in the transcript.</summary>
    public string Name => Type switch
    {
        VirtioDeviceType.Net => "net",
        VirtioDeviceType.Block => "block",
        VirtioDeviceType.Console => "console",
        _ => "type" + Desc.Type,
    };

    private ulong FeaturesAddress => Address + LguestDeviceDesc.Size + ((ulong)LguestVqConfig.Size * Desc.NumVq);

    private ulong ConfigAddress => FeaturesAddress + (2UL * Desc.FeatureLen);

    /// <summary>The status byte as it is in the page now.</summary>
    public VirtioStatus Status => (VirtioStatus)_guest.Memory.ReadU8(Address + LguestDeviceDesc.StatusOffset);

    /// <summary>Resets the device: a notify with the record's exact address.</summary>
    public void Reset()
    {
        _guest.Transcript.Line($"guest: reset {Name} (notify {T.Hex(Address)})");
        _guest.Cpu.Notify((uint)Address);
    }

    /// <summary>ORs <paramref name="bits"/> into the status byte (a plain store, no notify).</summary>
    public void AddStatus(VirtioStatus bits)
    {
        byte status = (byte)((byte)Status | (byte)bits);
        _guest.Memory.WriteU8(Address + LguestDeviceDesc.StatusOffset, status);
        _guest.Transcript.Line($"guest: {Name} status {T.Hex(status)} ({StatusName((VirtioStatus)status)})");
    }

    /// <summary>
    /// The 2.6.25 <c>feature()</c>: tests an offered bit and, if set, acknowledges it in the
    /// ack half. Keeps the guest's off-by-one (<c>bit/8 &gt; feature_len</c>), spec §8.3.
    /// </summary>
    public bool Feature(int bit)
    {
        if (bit / 8 > Desc.FeatureLen)
        {
            return false;
        }

        byte host = _guest.Memory.ReadU8(FeaturesAddress + (ulong)(bit / 8));
        if ((host & (1 << (bit % 8))) == 0)
        {
            return false;
        }

        ulong ack = FeaturesAddress + Desc.FeatureLen + (ulong)(bit / 8);
        _guest.Memory.WriteU8(ack, (byte)(_guest.Memory.ReadU8(ack) | (1 << (bit % 8))));
        _guest.Transcript.Line($"guest: {Name} feature {bit} acked");
        return true;
    }

    /// <summary>Reads config bytes; past <c>config_len</c> the real guest panics, and so does this one.</summary>
    public void ConfigGet(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Desc.ConfigLen)
        {
            _guest.Panic($"{Name}: config read at {offset} length {destination.Length} beyond config_len {Desc.ConfigLen}");
        }

        _guest.Memory.Read(ConfigAddress + (ulong)offset, destination);
    }

    /// <summary>
    /// <c>find_vq(index, callback)</c>: sets up the guest side of queue <paramref name="index"/>
    /// and registers its irq; a queue without callback gets NO_INTERRUPT at once.
    /// </summary>
    public GuestDriverQueue FindVq(int index, Action? callback)
    {
        if (index >= Desc.NumVq)
        {
            _guest.Panic($"{Name}: no virtqueue {index}");
        }

        Span<byte> raw = stackalloc byte[LguestVqConfig.Size];
        _guest.Memory.Read(Address + LguestDeviceDesc.Size + ((ulong)index * LguestVqConfig.Size), raw);
        var config = LguestVqConfig.Read(raw);
        var queue = new GuestDriverQueue(_guest.Memory, config, _guest.Notify, callback is not null);
        _guest.RegisterIrq(config.Irq, queue, callback, $"{Name} vq{index}");
        return queue;
    }

    /// <summary>Formats status bits by name.</summary>
    public static string StatusName(VirtioStatus s)
    {
        if (s == VirtioStatus.None)
        {
            return "RESET";
        }

        var parts = new List<string>();
        if ((s & VirtioStatus.Acknowledge) != 0)
        {
            parts.Add("ACKNOWLEDGE");
        }

        if ((s & VirtioStatus.Driver) != 0)
        {
            parts.Add("DRIVER");
        }

        if ((s & VirtioStatus.DriverOk) != 0)
        {
            parts.Add("DRIVER_OK");
        }

        if ((s & VirtioStatus.Failed) != 0)
        {
            parts.Add("FAILED");
        }

        return string.Join('|', parts);
    }
}
