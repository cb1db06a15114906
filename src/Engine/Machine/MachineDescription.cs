using LguestSim.Engine.Channel;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Machine;

/// <summary>A device of a machine: its kind and the host end it is built over.</summary>
public sealed record MachineDevice
{
    /// <summary>Pairs <paramref name="kind"/> with <paramref name="port"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="port"/> is not the kind's <see cref="DeviceKind.PortType"/>.</exception>
    public MachineDevice(DeviceKind kind, object port)
    {
        kind.CheckPort(port);
        Kind = kind;
        Port = port;
    }

    /// <summary>The kind (a row of <see cref="DeviceKinds"/>).</summary>
    public DeviceKind Kind { get; }

    /// <summary>The host end: console port, tap or block store. The caller owns it and disposes it.</summary>
    public object Port { get; }
}

/// <summary>The kernel to boot: spec §7.8 step 7, done by <c>BootLoader.Load</c>.</summary>
/// <param name="KernelPath">The vmlinux or bzImage.</param>
/// <param name="InitrdPath">The initrd, or null.</param>
/// <param name="Arguments">Words of the kernel command line.</param>
public sealed record KernelBoot(string KernelPath, string? InitrdPath, IReadOnlyList<string> Arguments);

/// <summary>Everything <see cref="Machine.Run"/> needs to put one machine together.</summary>
/// <remarks>
/// A description may be run more than once (the simulator's in-process reboot): each run
/// builds fresh memory (unless <see cref="Memory"/> is given), a fresh device page and fresh
/// devices over the same host ends.
/// </remarks>
public sealed class MachineDescription
{
    /// <summary><c>mem</c>: guest RAM in bytes, a non-zero page multiple.</summary>
    public required ulong MemorySize { get; init; }

    /// <summary>
    /// Guest memory to use (an mmap'd one for real runs): its limit must still be
    /// <see cref="MemorySize"/> and its capacity <c>DevicePage.CapacityFor(MemorySize)</c>.
    /// Null: each run allocates zeroed managed memory. The caller owns what it passes.
    /// </summary>
    public GuestMemory? Memory { get; init; }

    /// <summary>The devices in command-line order; the console, by lguest's rule, is the caller's last entry.</summary>
    public required IReadOnlyList<MachineDevice> Devices { get; init; }

    /// <summary>The kernel to load; null writes bare boot_params (e820 and an empty command line, spec §7.6).</summary>
    public KernelBoot? Kernel { get; init; }

    /// <summary>
    /// Creates the channel once memory, devices and boot image are in place (a simulated
    /// channel is built over them; a real one was usually opened before and is just returned).
    /// The machine owns the channel it gets and disposes it at the end of the run.
    /// </summary>
    public required Func<MachineSetup, ILguestChannel> CreateChannel { get; init; }

    /// <summary>Creates the Waker over the channel; default: the engine's managed <see cref="Waker"/>. Real file descriptors need a poll-based one.</summary>
    public Func<ILguestChannel, IWaker>? CreateWaker { get; init; }

    /// <summary>Creates what the Launcher reports to; default: nothing is reported.</summary>
    public Func<MachineSetup, ILauncherObserver>? CreateObserver { get; init; }

    /// <summary>Called once the machine is built, before the channel is created (e.g. to print the device page).</summary>
    public Action<MachineSetup>? Built { get; init; }

    /// <summary>Run first thing on each device worker thread (a benchmark pins it to a CPU).</summary>
    public Action? WorkerStarting { get; init; }

    /// <summary>
    /// Settle the devices' own threads at every break before input is serviced (see
    /// <see cref="Launch.Launcher.SettleDevicesAtBreak"/>): on for the simulator, whose
    /// transcripts must not depend on thread timing.
    /// </summary>
    public bool SettleDevicesAtBreak { get; init; }

    /// <summary>What a guest fault does (<see cref="Launch.Launcher.GuestErrors"/>): end the run (default) or isolate the device.</summary>
    public GuestErrorMode GuestErrors { get; init; }
}
