using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Memory;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>
/// The device page of spec §3.5/§3.6, built through the engine's public API: net (2 queues,
/// feature 5, 6-byte MAC), block (1 queue, features 0 and 2, 16-byte config), console (2 queues).
/// </summary>
public sealed class StandardDevices
{
    public static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    /// <summary>capacity 0x1234 sectors, size_max 0, seg_max 126, as in spec §5.3.</summary>
    public static readonly byte[] BlockConfig = Convert.FromHexString("3412000000000000" + "00000000" + "7E000000");

    private StandardDevices(GuestMemory memory, DevicePage page, DeviceRecord net, DeviceRecord block, DeviceRecord console)
    {
        Memory = memory;
        Page = page;
        Net = net;
        Block = block;
        Console = console;
    }

    public GuestMemory Memory { get; }

    public DevicePage Page { get; }

    public DeviceRecord Net { get; }

    public DeviceRecord Block { get; }

    public DeviceRecord Console { get; }

    public IReadOnlyList<DeviceRecord> All => [Net, Block, Console];

    /// <summary>Builds the page over a fresh memory of <c>mem</c> bytes of RAM plus the 256 device pages.</summary>
    public static StandardDevices Build(ulong mem, bool recording = false)
    {
        ulong capacity = DevicePage.CapacityFor(mem);
        GuestMemory memory = recording ? new RecordingGuestMemory(capacity, mem) : new ManagedGuestMemory(capacity, mem);
        var page = new DevicePage(memory);

        DeviceRecord net = page.AddDevice(VirtioDeviceType.Net, "net");
        net.AddVirtqueue();
        net.AddVirtqueue();
        net.AddFeature(5);
        net.SetConfig(Mac);

        DeviceRecord block = page.AddDevice(VirtioDeviceType.Block, "block");
        block.AddVirtqueue();
        block.AddFeature(0);
        block.AddFeature(2);
        block.SetConfig(BlockConfig);

        DeviceRecord console = page.AddDevice(VirtioDeviceType.Console, "console");
        console.AddVirtqueue();
        console.AddVirtqueue();

        return new StandardDevices(memory, page, net, block, console);
    }
}
