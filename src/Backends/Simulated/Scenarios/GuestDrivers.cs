using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;

namespace LguestSim.Backends.Simulated.Scenarios;

/// <summary>One built-in virtio driver of the simulated guest kernel: the device type it binds to and how it probes.</summary>
public sealed class GuestDriver
{
    internal GuestDriver(VirtioDeviceType type, Func<ScenarioGuest, BusDevice, bool> probe)
    {
        Type = type;
        Probe = probe;
    }

    /// <summary>The virtio device type id the driver binds to.</summary>
    public VirtioDeviceType Type { get; }

    /// <summary>Binds the driver to the device and probes it; false when the probe fails (status FAILED).</summary>
    internal Func<ScenarioGuest, BusDevice, bool> Probe { get; }
}

/// <summary>
/// The simulated guest's driver table: how it probes each kind of device, keyed by virtio type
/// id. The other half of the engine's <c>DeviceKinds</c> row: a device kind without a row here
/// is one the simulated guest finds on the bus but never drives.
/// </summary>
public static class GuestDrivers
{
    /// <summary>
    /// The drivers in the order the 2.6.25 kernel registers them, which is the order it probes
    /// the devices in: console, then block, then net (built-in drivers run their initcalls in
    /// drivers/Makefile link order), whatever order the devices have on the page.
    /// </summary>
    public static IReadOnlyList<GuestDriver> ProbeOrder { get; } =
    [
        new(VirtioDeviceType.Console, (guest, device) => guest.ProbeConsole(device)),
        new(VirtioDeviceType.Block, (guest, device) => guest.ProbeBlock(device)),
        new(VirtioDeviceType.Net, (guest, device) => guest.ProbeNet(device)),
    ];

    /// <summary>The driver for <paramref name="type"/>, or null when the guest has none.</summary>
    public static GuestDriver? Find(VirtioDeviceType type) => ProbeOrder.FirstOrDefault(d => d.Type == type);
}
