using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Machine;

/// <summary>A machine as built, just before its channel is created.</summary>
/// <param name="Memory">Guest memory; its limit is now <c>guest_limit</c> (RAM plus the pages the devices took).</param>
/// <param name="MemorySize"><c>mem</c>: guest RAM in bytes.</param>
/// <param name="Page">The device page.</param>
/// <param name="Devices">The devices, in page order.</param>
/// <param name="Boot">What the kernel load did, or null for bare boot_params.</param>
public sealed record MachineSetup(GuestMemory Memory, ulong MemorySize, DevicePage Page, IReadOnlyList<VirtioDevice> Devices, BootSetup? Boot)
{
    /// <summary>The guest's top-level page table (0 without a kernel).</summary>
    public uint PageDirectory => Boot?.PageDirectory ?? 0;

    /// <summary>The entry point (0 without a kernel).</summary>
    public uint Entry => Boot?.Entry ?? 0;

    /// <summary>The <c>pfnlimit</c> of <c>LHREQ_INITIALIZE</c>: <c>guest_limit / 4096</c>.</summary>
    public uint PfnLimit => (uint)(Page.GuestLimit / LguestLayout.PageSize);
}

/// <summary>A machine built by <see cref="Machine.Assemble"/> and not yet taken apart.</summary>
public sealed class AssembledMachine : IDisposable
{
    private Action? _shutdown;

    internal AssembledMachine(MachineSetup setup, Launcher launcher, Action shutdown)
    {
        Setup = setup;
        Launcher = launcher;
        _shutdown = shutdown;
    }

    /// <summary>Memory, device page and devices.</summary>
    public MachineSetup Setup { get; }

    /// <summary>The Launcher over them, ready to run.</summary>
    public Launcher Launcher { get; }

    /// <summary>Stops the device workers, then the channel, then the Waker (once).</summary>
    public void Dispose()
    {
        Action? shutdown = _shutdown;
        _shutdown = null;
        shutdown?.Invoke();
    }
}

/// <summary>How a machine's run ended, and the machine it ran.</summary>
/// <param name="Exit">How the Launcher ended.</param>
/// <param name="Setup">The memory, device page and devices of the run (for summaries).</param>
public sealed record MachineOutcome(LauncherExit Exit, MachineSetup Setup);

/// <summary>
/// The one place a machine is put together: guest memory, device page, devices, boot image,
/// channel, Waker and Launcher, and taken apart again in the one order that lets every thread
/// finish. The simulator, the real runner, <c>bench block</c> and the machine-level tests come
/// through here (<c>bench vring</c> and the device tests drive a queue or a device directly).
/// </summary>
/// <remarks>lguest.c <c>main()</c> from the device setup on.</remarks>
public static class Machine
{
    /// <summary>Builds the machine <paramref name="description"/> describes and runs it to an end.</summary>
    /// <remarks>
    /// <para>
    /// The real <c>/dev/lguest</c> insists that <c>LHREQ_INITIALIZE</c>, every read (run) and
    /// every <c>LHREQ_IRQ</c> come from the task that opened the guest. The machine guarantees
    /// it by doing all three on the thread that calls this method: it initializes the channel
    /// here and runs the Launcher, whose run loop raises the interrupts, here too. Only the
    /// Waker (<c>LHREQ_BREAK</c>) and the block workers run elsewhere.
    /// </para>
    /// <para>
    /// A host failure under the run (a tap read that fails) ends it as
    /// <see cref="LauncherExitKind.HostError"/>; a failure while setting up throws.
    /// </para>
    /// </remarks>
    /// <exception cref="LauncherException">The machine cannot be set up (too many devices, a bad kernel).</exception>
    /// <exception cref="ArgumentException">The memory has the wrong shape, or a port the wrong type.</exception>
    /// <exception cref="LguestHostException">The channel refuses to initialize.</exception>
    public static MachineOutcome Run(MachineDescription description)
    {
        using AssembledMachine machine = Assemble(description);
        LauncherExit exit;
        try
        {
            exit = machine.Launcher.Run();
        }
        catch (LguestHostException e)
        {
            // A host failure under the Launcher (a tap read ≤ 0): the run ends here, as
            // lguest's err() would end it, and the caller reports it like any other end.
            exit = machine.Launcher.Finish(new LauncherExit(LauncherExitKind.HostError, 1, e.Message));
        }

        return new MachineOutcome(exit, machine.Setup);
    }

    /// <summary>
    /// Builds the machine <paramref name="description"/> describes — memory, device page,
    /// devices, boot image, channel (initialized), Waker and Launcher — without running it.
    /// <see cref="Run"/> runs what this builds; the fuzzer drives the Launcher it returns over
    /// and over. Disposing the result takes the machine apart in the one safe order.
    /// </summary>
    /// <exception cref="LauncherException">The machine cannot be set up (too many devices, a bad kernel).</exception>
    /// <exception cref="ArgumentException">The memory has the wrong shape, or a port the wrong type.</exception>
    /// <exception cref="LguestHostException">The channel refuses to initialize.</exception>
    public static AssembledMachine Assemble(MachineDescription description)
    {
        ulong mem = description.MemorySize;
        GuestMemory memory = description.Memory ?? new ManagedGuestMemory(DevicePage.CapacityFor(mem), mem);
        if (memory.Limit != mem)
        {
            throw new ArgumentException($"guest memory's limit is 0x{memory.Limit:x}, not mem 0x{mem:x}", nameof(description));
        }

        var devices = new List<VirtioDevice>();
        ILguestChannel? channel = null;
        IWaker? waker = null;
        try
        {
            var page = new DevicePage(memory);
            foreach (MachineDevice d in description.Devices)
            {
                devices.Add(d.Kind.Build(page, d.Port, description.WorkerStarting));
            }

            BootSetup? boot = null;
            if (description.Kernel is { } kernel)
            {
                boot = BootLoader.Load(memory, mem, kernel.KernelPath, kernel.InitrdPath, kernel.Arguments);
            }
            else
            {
                WriteBareBootParams(memory, mem);
            }

            var setup = new MachineSetup(memory, mem, page, devices, boot);
            description.Built?.Invoke(setup);
            channel = description.CreateChannel(setup);
            channel.Initialize(setup.PfnLimit, setup.PageDirectory, setup.Entry);
            waker = description.CreateWaker?.Invoke(channel) ?? new Waker(channel);
            ILauncherObserver observer = description.CreateObserver?.Invoke(setup) ?? NullObserver.Instance;
            var launcher = new Launcher(channel, page, devices, waker, observer)
            {
                SettleDevicesAtBreak = description.SettleDevicesAtBreak,
                GuestErrors = description.GuestErrors,
            };
            return new AssembledMachine(setup, launcher, () => Shutdown(devices, channel, waker));
        }
        catch
        {
            Shutdown(devices, channel, waker);
            throw;
        }
    }

    /// <summary>
    /// The end of a run, in the order that lets every thread finish: the device workers first
    /// (their completions signal the Waker), then the channel, which releases a break the Waker
    /// may still be blocked in, then the Waker.
    /// </summary>
    private static void Shutdown(List<VirtioDevice> devices, ILguestChannel? channel, IWaker? waker)
    {
        foreach (VirtioDevice d in devices)
        {
            (d as IDisposable)?.Dispose();
        }

        channel?.Dispose();
        waker?.Dispose();
    }

    /// <summary>The boot_params a Launcher writes without a kernel: e820 and an empty command line (spec §7.6).</summary>
    private static void WriteBareBootParams(GuestMemory memory, ulong mem)
    {
        new BootParams(1, new E820Entry(0, mem, E820Entry.TypeRam), BootParams.ProtocolVersion, 0, BootParams.KeepSegments, 0, 0, BootParams.CommandLineAddress, BootParams.SubarchLguest)
            .Write(memory.GetSpan(0, BootParams.Size));
        memory.WriteU8(BootParams.CommandLineAddress, 0);
    }

    private sealed class NullObserver : ILauncherObserver
    {
        public static readonly NullObserver Instance = new();

        public void OnNotify(uint address)
        {
        }

        public void OnReset(VirtioDevice device)
        {
        }

        public void OnInterrupt(VirtioDevice device, Virtqueue queue)
        {
        }

        public void OnEarlyOutput(ReadOnlySpan<byte> text)
        {
        }

        public void OnIsolated(VirtioDevice device, GuestFaultException fault)
        {
        }

        public void OnWarning(string message)
        {
        }
    }
}
