using System.Diagnostics.CodeAnalysis;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.HostIo;

namespace LguestSim.Engine.Machine;

/// <summary>
/// One kind of device a machine can have: the word that names it, its virtio type id, the
/// host port it is built over, and how to build it. A row of <see cref="DeviceKinds"/>.
/// </summary>
public sealed class DeviceKind
{
    private readonly Func<DevicePage, object, Action?, VirtioDevice> _build;

    private DeviceKind(string name, VirtioDeviceType type, Type portType, Func<DevicePage, object, Action?, VirtioDevice> build)
    {
        Name = name;
        Type = type;
        PortType = portType;
        _build = build;
    }

    /// <summary>The word for the kind ("console", "net", "block"), as command lines and scenarios spell it.</summary>
    public string Name { get; }

    /// <summary>The virtio device type id its record on the device page carries.</summary>
    public VirtioDeviceType Type { get; }

    /// <summary>The host port the device is built over (<see cref="IConsolePort"/>, <see cref="ITap"/>, <see cref="IBlockStore"/>).</summary>
    public Type PortType { get; }

    /// <summary>Lays out the device's record on <paramref name="page"/> and creates the device over <paramref name="port"/>.</summary>
    /// <param name="page">The device page.</param>
    /// <param name="port">The host end: an instance of <see cref="PortType"/>.</param>
    /// <param name="workerStarting">Run first thing on a worker thread the device starts (block), if any.</param>
    /// <exception cref="ArgumentException"><paramref name="port"/> is not a <see cref="PortType"/>.</exception>
    /// <exception cref="LauncherException">The device does not fit on the page or in the device pages.</exception>
    public VirtioDevice Build(DevicePage page, object port, Action? workerStarting = null)
    {
        CheckPort(port);
        return _build(page, port, workerStarting);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    internal void CheckPort(object port)
    {
        if (!PortType.IsInstanceOfType(port))
        {
            throw new ArgumentException($"a {Name} device is built over an {PortType.Name}, not a {port.GetType().Name}", nameof(port));
        }
    }

    internal static DeviceKind Create<TPort>(string name, VirtioDeviceType type, Func<DevicePage, TPort, Action?, VirtioDevice> build)
        where TPort : class =>
        new(name, type, typeof(TPort), (page, port, starting) => build(page, (TPort)port, starting));
}

/// <summary>
/// The table of device kinds: every device a machine can have, one row each. Adding a device
/// means its folder under <c>Engine/Devices</c> and a row here (plus, for the simulated guest,
/// a row in its driver table).
/// </summary>
public static class DeviceKinds
{
    /// <summary>virtio net over a tap (lguest.c <c>setup_tun_net()</c>).</summary>
    public static DeviceKind Net { get; } = DeviceKind.Create<ITap>("net", VirtioDeviceType.Net, (page, tap, _) => NetDevice.Create(page, tap));

    /// <summary>virtio block over a file, served by a worker thread (lguest.c <c>setup_block_file()</c>).</summary>
    public static DeviceKind Block { get; } = DeviceKind.Create<IBlockStore>("block", VirtioDeviceType.Block, BlockDevice.Create);

    /// <summary>virtio console over a terminal (lguest.c <c>setup_console()</c>; always created last).</summary>
    public static DeviceKind Console { get; } = DeviceKind.Create<IConsolePort>("console", VirtioDeviceType.Console, (page, port, _) => ConsoleDevice.Create(page, port));

    /// <summary>Every kind, in the order their names are listed to people.</summary>
    public static IReadOnlyList<DeviceKind> All { get; } = [Net, Block, Console];

    /// <summary>The names of <see cref="All"/>, for messages: "net, block or console".</summary>
    public static string NameList => string.Join(", ", All.Take(All.Count - 1).Select(k => k.Name)) + " or " + All[^1].Name;

    /// <summary>Finds the kind called <paramref name="name"/> (exact, lower case).</summary>
    /// <returns>False for a word that names no kind: callers refuse it, never guess one.</returns>
    public static bool TryFind(string name, [NotNullWhen(true)] out DeviceKind? kind)
    {
        kind = All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.Ordinal));
        return kind is not null;
    }
}
