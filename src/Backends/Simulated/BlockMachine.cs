using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated;

/// <summary>How to run a <see cref="BlockMachine"/>.</summary>
public sealed class BlockMachineOptions
{
    /// <summary>Guest RAM in bytes (a page multiple).</summary>
    public ulong MemoryBytes { get; init; } = 64UL << 20;

    /// <summary>How long a halted guest may wait with nothing to wake it.</summary>
    public TimeSpan HaltTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Creates the Waker; default: the managed one of the engine.</summary>
    public Func<ILguestChannel, IWaker>? CreateWaker { get; init; }

    /// <summary>Echo the guest's transcript lines here as they happen.</summary>
    public TextWriter? Echo { get; init; }

    /// <summary>Run first thing on the block worker thread (a benchmark pins it to a CPU).</summary>
    public Action? WorkerStarting { get; init; }
}

/// <summary>What a <see cref="BlockMachine"/> run did.</summary>
/// <param name="Exit">How the Launcher run ended.</param>
/// <param name="Transcript">The guest's transcript (its bus and driver lines).</param>
/// <param name="Warnings">The Launcher's warnings, in order.</param>
/// <param name="Interrupts">Interrupts the Launcher raised for the block queue.</param>
public sealed record BlockMachineResult(LauncherExit Exit, string Transcript, IReadOnlyList<string> Warnings, long Interrupts);

/// <summary>The block device as a guest program sees it after the bus scan.</summary>
public sealed class BlockGuest
{
    internal BlockGuest(GuestContext context, BusDevice device)
    {
        Context = context;
        Device = device;
    }

    /// <summary>The guest kernel's state: memory, vcpu, heap, interrupts.</summary>
    public GuestContext Context { get; }

    /// <summary>The block device on the lguest bus, reset and acknowledged, not yet probed.</summary>
    public BusDevice Device { get; }

    /// <summary>Probes the virtio_blk driver (spec §8.5, partition-table read included) and sets DRIVER_OK.</summary>
    public BlockDriver ProbeDriver()
    {
        Device.AddStatus(VirtioStatus.Driver);
        var driver = new BlockDriver(Context, Device);
        driver.Probe();
        Device.AddStatus(VirtioStatus.DriverOk);
        return driver;
    }
}

/// <summary>
/// A machine with one block device over any <see cref="IBlockStore"/>, run by the real
/// Launcher (device, worker thread, Waker) against a guest program given as code: for tests
/// and benchmarks that need more than the scenario language says (exact segment lengths,
/// many requests, a store that fails on purpose).
/// </summary>
public static class BlockMachine
{
    /// <summary>
    /// Runs <paramref name="program"/> as the guest; when it returns the guest powers off.
    /// </summary>
    public static BlockMachineResult Run(IBlockStore store, Action<BlockGuest> program, BlockMachineOptions? options = null)
    {
        options ??= new BlockMachineOptions();
        ulong mem = options.MemoryBytes;
        var transcript = new T(options.Echo);
        var observer = new Observer();
        MachineOutcome outcome = Machine.Run(new MachineDescription
        {
            MemorySize = mem,
            Devices = [new MachineDevice(DeviceKinds.Block, store)],
            WorkerStarting = options.WorkerStarting,
            CreateChannel = setup =>
            {
                void Guest(IGuestCpu cpu)
                {
                    var context = new GuestContext(new LocalGuestPhysicalMemory(setup.Memory), mem, cpu, transcript, mem);
                    var bus = new LguestBus(context, setup.Page.Address);
                    bus.Scan();
                    program(new BlockGuest(context, bus.Devices[0]));
                }

                return new SimulatedChannel(Guest) { HaltTimeout = options.HaltTimeout };
            },
            CreateWaker = options.CreateWaker,
            CreateObserver = _ => observer,
        });
        return new BlockMachineResult(outcome.Exit, transcript.ToString(), observer.Warnings, observer.Interrupts);
    }

    private sealed class Observer : ILauncherObserver
    {
        private readonly List<string> _warnings = new();

        public long Interrupts { get; private set; }

        public IReadOnlyList<string> Warnings
        {
            get
            {
                lock (_warnings)
                {
                    return _warnings.ToArray();
                }
            }
        }

        public void OnNotify(uint address)
        {
        }

        public void OnReset(VirtioDevice device)
        {
        }

        public void OnInterrupt(VirtioDevice device, Virtqueue queue) => Interrupts++;

        public void OnEarlyOutput(ReadOnlySpan<byte> text)
        {
        }

        public void OnIsolated(VirtioDevice device, GuestFaultException fault)
        {
        }

        // Called on the run loop and on the block worker thread.
        public void OnWarning(string message)
        {
            lock (_warnings)
            {
                _warnings.Add(message);
            }
        }
    }
}
