using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Virtio;

namespace LguestSim.Fuzz;

/// <summary>Where everything of a fuzz machine is: devices, rings, the device page, guest_limit.</summary>
public sealed class FuzzLayout
{
    private readonly IReadOnlyList<VirtioDevice> _devices;
    private readonly string[] _names;

    internal FuzzLayout(FuzzDevice target, MachineSetup setup)
    {
        _devices = setup.Devices;
        Limit = setup.Memory.Limit;
        Ram = setup.MemorySize;
        PageAddress = setup.Page.Address;
        Num = _devices[0].Record.Queues[0].Config.Num;
        _names = new string[_devices.Count];
        for (int i = 0; i < _devices.Count; i++)
        {
            _names[i] = _devices[i] switch
            {
                NetDevice => "net",
                BlockDevice when i == 0 && target == FuzzDevice.Block => "block",
                BlockDevice => "spare",
                _ => "console",
            };
        }

        Target = target == FuzzDevice.Console ? _devices.Count - 1 : 0;
        Console = _devices.Count - 1;
        Spare = Array.IndexOf(_names, "spare");
    }

    /// <summary>guest_limit.</summary>
    public ulong Limit { get; }

    /// <summary>Guest RAM size (the device page's address).</summary>
    public ulong Ram { get; }

    /// <summary>The device page.</summary>
    public ulong PageAddress { get; }

    /// <summary>Queue size (128).</summary>
    public int Num { get; }

    /// <summary>Index of the fuzzed device.</summary>
    public int Target { get; }

    /// <summary>Index of the console.</summary>
    public int Console { get; }

    /// <summary>Index of the spare (healthy) block device.</summary>
    public int Spare { get; }

    /// <summary>Number of devices.</summary>
    public int Count => _devices.Count;

    /// <summary>The scenario name of device <paramref name="device"/>: net, block, spare or console.</summary>
    public string Name(int device) => _names[device];

    /// <summary>The device index named <paramref name="name"/>, or -1.</summary>
    public int Find(string name) => Array.IndexOf(_names, name);

    /// <summary>The kind of device <paramref name="device"/>.</summary>
    public FuzzDevice Kind(int device) => _devices[device] switch
    {
        NetDevice => FuzzDevice.Net,
        BlockDevice => FuzzDevice.Block,
        _ => FuzzDevice.Console,
    };

    /// <summary>Whether device <paramref name="device"/> is a block device.</summary>
    public bool IsBlock(int device) => device < _devices.Count && _devices[device] is BlockDevice;

    /// <summary>Queues of device <paramref name="device"/>.</summary>
    public int Queues(int device) => _devices[device].Record.Queues.Count;

    /// <summary>Ring start of a queue.</summary>
    public ulong Ring(int device, int queue) => Queue(device, queue).RingAddress;

    /// <summary>The avail ring of a queue.</summary>
    public ulong Avail(int device, int queue) => Ring(device, queue) + (ulong)Queue(device, queue).Layout.AvailOffset;

    /// <summary>The used ring of a queue.</summary>
    public ulong Used(int device, int queue) => Ring(device, queue) + (ulong)Queue(device, queue).Layout.UsedOffset;

    /// <summary>The device's descriptor address (its reset notify).</summary>
    public ulong Descriptor(int device) => _devices[device].Record.DescriptorAddress;

    /// <summary>The device's status byte.</summary>
    public ulong Status(int device) => Descriptor(device) + LguestDeviceDesc.StatusOffset;

    /// <summary>The vqconfig of a queue on the device page.</summary>
    public ulong VqConfig(int device, int queue) => Descriptor(device) + (ulong)LguestDeviceDesc.Size + (ulong)(LguestVqConfig.Size * queue);

    /// <summary>The host feature byte 0 of a device (its ack byte is <see cref="FeatureLength"/> further).</summary>
    public ulong Features(int device) => VqConfig(device, Queues(device));

    /// <summary>The device's feature_len.</summary>
    public int FeatureLength(int device) => _devices[device].Record.FeatureLength;

    /// <summary>What lies at <paramref name="address"/>, for messages.</summary>
    public string Describe(ulong address)
    {
        if (address < Ram)
        {
            return "guest RAM";
        }

        if (address >= PageAddress && address < PageAddress + LguestLayout.PageSize)
        {
            return $"device page offset {address - PageAddress}";
        }

        for (int d = 0; d < _devices.Count; d++)
        {
            for (int q = 0; q < Queues(d); q++)
            {
                ulong ring = Ring(d, q);
                if (address >= ring && address < ring + (2UL * LguestLayout.PageSize))
                {
                    ulong off = address - ring;
                    string part = address < Avail(d, q) ? "descriptor table" : address < Used(d, q) ? "avail ring" : "used ring";
                    return $"{Name(d)} vq{q} {part} +{off}";
                }
            }
        }

        return "device pages";
    }

    private Virtqueue Queue(int device, int queue) => _devices[device].Record.Queues[queue];
}
