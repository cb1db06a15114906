using System.Globalization;
using LguestSim.Backends.Simulated.HostSide;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Backends.Simulated.Transcript;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated;

/// <summary>How to run a simulation.</summary>
public sealed class SimulationOptions
{
    /// <summary>Opens a block device's backing file (the real host implementation in normal use).</summary>
    public required Func<string, IBlockStore> OpenBlock { get; init; }

    /// <summary>Use this file for the (first) block device instead of a temporary one.</summary>
    public string? BlockFile { get; init; }

    /// <summary>A kernel image to load first (ELF vmlinux or bzImage), as a real boot would.</summary>
    public string? KernelPath { get; init; }

    /// <summary>An initrd to load with the kernel.</summary>
    public string? InitrdPath { get; init; }

    /// <summary>Kernel command-line arguments (joined by single spaces).</summary>
    public IReadOnlyList<string> KernelArguments { get; init; } = [];

    /// <summary>Guest RAM in MiB, overriding the scenario's <c>memory</c> line.</summary>
    public uint? MemoryMiB { get; init; }

    /// <summary>Echo transcript lines here as they happen (--verbose).</summary>
    public TextWriter? Echo { get; init; }

    /// <summary>Creates the Waker for a run; default: the managed one of the engine.</summary>
    public Func<Engine.Channel.ILguestChannel, IWaker>? CreateWaker { get; init; }

    /// <summary>
    /// The console's real host side (a terminal); default: the simulated keyboard and screen
    /// that the scenario drives. The transcript records the console's traffic either way.
    /// </summary>
    public IConsolePort? ConsolePort { get; init; }

    /// <summary>
    /// Opens a real tap for the net device with this index (0-based, scenario order), or
    /// returns null to keep the in-memory one. The runner disposes what it opens.
    /// </summary>
    public Func<int, ITap?>? OpenTap { get; init; }

    /// <summary>Wraps each net device's tap, real or in-memory (e.g. a pcap recorder).</summary>
    public Func<ITap, ITap>? WrapTap { get; init; }

    /// <summary>The default <see cref="HaltTimeout"/>: long enough for any scenario, short enough that a wrong one cannot hang CI.</summary>
    public static TimeSpan DefaultHaltTimeout => TimeSpan.FromSeconds(30);

    /// <summary>How long a halted guest may wait with nothing to wake it.</summary>
    public TimeSpan HaltTimeout { get; init; } = DefaultHaltTimeout;

    /// <summary>The default <see cref="RunTimeout"/>: far beyond any scenario the limits of the format allow to be slow.</summary>
    public static TimeSpan DefaultRunTimeout => TimeSpan.FromMinutes(10);

    /// <summary>
    /// The wall-clock guard of the run as a whole, reboots included (<see cref="TimeSpan.MaxValue"/>:
    /// none, for a person at a terminal): a guest still running then dies with a reason saying so.
    /// </summary>
    public TimeSpan RunTimeout { get; init; } = DefaultRunTimeout;

    /// <summary>What a guest fault does: end the run (default, lguest's behaviour) or isolate the faulting device.</summary>
    public GuestErrorMode GuestErrors { get; init; }

    /// <summary>
    /// Called on the caller's thread after each Launcher run (each boot) with how it ended and its
    /// machine, whose memory and devices can still be read (tests look at rings and device state).
    /// </summary>
    public Action<MachineOutcome>? RunEnded { get; init; }
}

/// <summary>A device the Launcher isolated (<c>--guest-errors=isolate</c>).</summary>
/// <param name="Boot">Which boot of the run (0 first; a reboot starts the next).</param>
/// <param name="DeviceIndex">The device's place on the device page (0 first).</param>
/// <param name="Device">The device's name.</param>
/// <param name="Fault">The fault that isolated it.</param>
public readonly record struct DeviceIsolation(int Boot, int DeviceIndex, string Device, GuestFault Fault);

/// <summary>What a simulation produced.</summary>
/// <param name="Transcript">The canonical transcript.</param>
/// <param name="Exit">How the (last) Launcher run ended.</param>
/// <param name="ExitStatus">0 for a clean power-off, else the Launcher's status.</param>
/// <param name="Summary">A few lines for people: devices, traffic, outcome.</param>
public sealed record SimulationResult(string Transcript, LauncherExit Exit, int ExitStatus, string Summary)
{
    /// <summary>Every isolation of the run, in order (none in exit mode).</summary>
    public IReadOnlyList<DeviceIsolation> Isolations { get; init; } = [];
}

/// <summary>
/// Sets up the scenario's machine — guest memory, device page, devices over simulated host
/// ends and a real block file — and runs the real Launcher against the simulated guest,
/// restarting in-process when the guest reboots.
/// </summary>
public static class SimulationRunner
{
    /// <summary>Runs <paramref name="scenario"/>.</summary>
    /// <exception cref="LauncherException">The machine cannot be set up (e.g. too many devices).</exception>
    /// <exception cref="IOException">A block file cannot be created or opened (a TMPDIR refused is one too).</exception>
    /// <exception cref="LguestHostException">A real tap cannot be set up (a failure during the run ends it instead, as <see cref="LauncherExitKind.HostError"/>).</exception>
    public static SimulationResult Run(Scenario scenario, SimulationOptions options)
    {
        var transcript = new T(options.Echo);
        DateTime deadline = options.RunTimeout >= DateTime.MaxValue - DateTime.UtcNow ? DateTime.MaxValue : DateTime.UtcNow + options.RunTimeout;
        var temporaryFiles = new List<string>();
        var stores = new List<IBlockStore>();
        var realTaps = new List<ITap>();
        try
        {
            ulong mem = (options.MemoryMiB ?? scenario.MemoryMiB) * 1024 * 1024;
            var console = new MemoryConsolePort(transcript, options.ConsolePort);
            (List<MemoryTap?> taps, List<ITap> deviceTaps) = CreateTaps(scenario, options, transcript, realTaps);
            var host = new SimulatedHost(console, taps, deviceTaps);
            int blockIndex = 0;
            foreach (DeviceSpec spec in scenario.Devices.Where(d => d.Kind == DeviceKinds.Block))
            {
                string path = blockIndex == 0 && options.BlockFile is not null ? options.BlockFile : spec.File ?? CreateTemporaryDisk(spec, temporaryFiles);
                stores.Add(options.OpenBlock(path));
                blockIndex++;
            }

            transcript.Line($"scenario {scenario.Name}");
            transcript.Line($"setup: memory {mem >> 20} MiB; devices {string.Join(' ', scenario.Devices.Select(d => d.Kind.Name))}");
            int step = 0;
            int boot = 0;
            var isolations = new List<DeviceIsolation>();
            while (true)
            {
                (LauncherExit exit, int next, IReadOnlyList<VirtioDevice> devices) = RunOnce(scenario, step, boot++, mem, host, stores, transcript, options, deadline, isolations);
                if (exit.Kind == LauncherExitKind.Restart)
                {
                    transcript.Line("launcher: guest asked to reboot; restarting in-process (a real Launcher re-executes itself)");
                    step = next;
                    continue;
                }

                int status = exit.Kind == LauncherExitKind.GuestDied && exit.Message == "CRASH: Power down" ? 0 : exit.ExitStatus;
                transcript.Closing(exit.Kind switch
                {
                    LauncherExitKind.GuestDied => $"end: guest died: {exit.Message}",
                    LauncherExitKind.GuestFault => $"end: guest fault {exit.Fault}: {exit.Message}",
                    LauncherExitKind.Requested => $"end: exit requested: {exit.Message}",
                    LauncherExitKind.HostError => $"end: host error: {exit.Message}",
                    _ => $"end: {exit.Message}",
                });
                transcript.Closing($"exit status {status.ToString(CultureInfo.InvariantCulture)}");
                string text = transcript.ToString();
                return new SimulationResult(text, exit, status, Summarize(text, devices, console, exit, status, isolations)) { Isolations = isolations };
            }
        }
        finally
        {
            foreach (IBlockStore s in stores)
            {
                (s as IDisposable)?.Dispose();
            }

            foreach (ITap t in realTaps)
            {
                (t as IDisposable)?.Dispose();
            }

            foreach (string f in temporaryFiles)
            {
                File.Delete(f);
            }
        }
    }

    /// <summary>
    /// One boot: a fresh <see cref="Machine"/> (memory, device page, devices) over the same
    /// host ends, and a fresh guest that carries on from <paramref name="firstStep"/>.
    /// </summary>
    private static (LauncherExit Exit, int NextStep, IReadOnlyList<VirtioDevice> Devices) RunOnce(
        Scenario scenario, int firstStep, int boot, ulong mem, SimulatedHost host, List<IBlockStore> stores, T transcript, SimulationOptions options, DateTime deadline, List<DeviceIsolation> isolations)
    {
        ScenarioGuest? guest = null;
        var description = new MachineDescription
        {
            MemorySize = mem,
            Devices = MachineDevices(scenario, host, stores),
            Kernel = options.KernelPath is { } kernel ? new KernelBoot(kernel, options.InitrdPath, options.KernelArguments) : null,
            Built = setup =>
            {
                if (boot == 0)
                {
                    DescribeSetup(setup, transcript);
                }
            },
            CreateChannel = setup =>
            {
                guest = new ScenarioGuest(scenario, firstStep, host, transcript, new Guest.LocalGuestPhysicalMemory(setup.Memory), mem)
                {
                    // The simulator's own knowledge, not the guest's: see ScenarioGuest.IsIsolated.
                    IsIsolated = descriptor => setup.Devices.Any(d => d.IsIsolated && d.Record.DescriptorAddress == descriptor),
                };
                return new SimulatedChannel(guest.Run) { HaltTimeout = options.HaltTimeout, Deadline = deadline };
            },
            CreateWaker = options.CreateWaker,
            SettleDevicesAtBreak = true,
            GuestErrors = options.GuestErrors,
            CreateObserver = setup => new TranscriptObserver(transcript, setup.Page, setup.Devices, (device, fault) =>
                isolations.Add(new DeviceIsolation(boot, IndexOf(setup.Devices, device), device.Name, fault.Fault))),
        };
        MachineOutcome outcome = Machine.Run(description);
        options.RunEnded?.Invoke(outcome);
        return (outcome.Exit, guest!.NextStep, outcome.Setup.Devices);
    }

    private static int IndexOf(IReadOnlyList<VirtioDevice> devices, VirtioDevice device)
    {
        for (int i = 0; i < devices.Count; i++)
        {
            if (devices[i] == device)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The scenario's devices, in its order, each over its simulated (or real) host end.</summary>
    private static List<MachineDevice> MachineDevices(Scenario scenario, SimulatedHost host, List<IBlockStore> stores)
    {
        var devices = new List<MachineDevice>();
        int net = 0;
        int block = 0;
        foreach (DeviceSpec spec in scenario.Devices)
        {
            object port = spec.Kind.Name switch
            {
                "net" => host.DeviceTaps[net++],
                "block" => stores[block++],
                "console" => host.Console,
                _ => throw new InvalidOperationException($"the simulator has no host end for a {spec.Kind.Name} device"),
            };
            devices.Add(new MachineDevice(spec.Kind, port));
        }

        return devices;
    }

    /// <summary>The first boot's setup lines: what the kernel load did, and the device page.</summary>
    private static void DescribeSetup(MachineSetup setup, T transcript)
    {
        if (setup.Boot is { } loaded)
        {
            transcript.Line($"launcher: loaded {loaded.Kernel.Format} kernel ({loaded.Kernel.Segments.Count} segment(s), {loaded.Kernel.BytesCopied} bytes), entry {T.Hex(loaded.Entry)}");
            transcript.Line($"launcher: page tables {T.Hex(loaded.PageTables.PteAddress)} ({loaded.PageTables.PtePages} PTE pages), pgdir {T.Hex(loaded.PageDirectory)}; initrd {T.Hex(loaded.InitrdAddress)}+{T.Hex(loaded.InitrdSize)}");
        }

        DevicePage page = setup.Page;
        transcript.Line($"device page at {T.Hex(page.Address)}, guest_limit {T.Hex(page.GuestLimit)}:");
        transcript.Block(HexDump.Format(page.Snapshot(), page.Address));
    }

    /// <summary>
    /// The net devices' host ends, in scenario order: a real tap where
    /// <see cref="SimulationOptions.OpenTap"/> gives one (null in the first list then), else
    /// an in-memory one, answering as <c>host-ip</c> if the scenario gives it; each wrapped by
    /// <see cref="SimulationOptions.WrapTap"/>.
    /// </summary>
    private static (List<MemoryTap?> Memory, List<ITap> Devices) CreateTaps(Scenario scenario, SimulationOptions options, T transcript, List<ITap> realTaps)
    {
        var memoryTaps = new List<MemoryTap?>();
        var deviceTaps = new List<ITap>();
        foreach (DeviceSpec d in scenario.Devices.Where(d => d.Kind == DeviceKinds.Net))
        {
            ITap? real = options.OpenTap?.Invoke(deviceTaps.Count);
            MemoryTap? inMemory = null;
            if (real is not null)
            {
                realTaps.Add(real);
            }
            else
            {
                inMemory = new MemoryTap(d.Mac!);
                if (d.HostIp != 0)
                {
                    inMemory.AnswerAs(d.HostIp, ScenarioGuest.HostMac, transcript);
                }
            }

            memoryTaps.Add(inMemory);
            ITap tap = real ?? inMemory!;
            deviceTaps.Add(options.WrapTap?.Invoke(tap) ?? tap);
        }

        return (memoryTaps, deviceTaps);
    }

    private static string CreateTemporaryDisk(DeviceSpec spec, List<string> temporaryFiles)
    {
        string path = Path.Combine(Path.GetTempPath(), $"lguestsim-{Guid.NewGuid():N}.img");
        temporaryFiles.Add(path);
        FileStream f;
        try
        {
            f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot create a temporary block file in {Path.GetTempPath()} (TMPDIR): {e.Message}", e);
        }

        using var file = f;
        byte[] chunk = (spec.Fill ?? new DataPattern(true, 0)).Generate((int)Math.Min(spec.SizeBytes, 1 << 20));
        for (long written = 0; written < spec.SizeBytes; written += chunk.Length)
        {
            f.Write(chunk, 0, (int)Math.Min(chunk.Length, spec.SizeBytes - written));
        }

        return path;
    }

    private static string Summarize(string transcript, IReadOnlyList<VirtioDevice> devices, MemoryConsolePort console, LauncherExit exit, int status, List<DeviceIsolation> isolations)
    {
        string[] lines = transcript.Split('\n');
        int Count(string prefix) => lines.Count(l => l.StartsWith(prefix, StringComparison.Ordinal));
        string outcome = exit.Kind switch
        {
            LauncherExitKind.GuestDied when status == 0 => "the guest powered off cleanly",
            LauncherExitKind.GuestDied => $"the guest died ({exit.Message})",
            LauncherExitKind.GuestFault => $"guest fault {exit.Fault}",
            _ => exit.Message,
        };
        var summary = new List<string>
        {
            "devices: " + string.Join(", ", devices.Select(d => $"{d.Name} {Guest.BusDevice.StatusName(d.Record.Status)}")),
            $"console: {console.OutputLength} bytes of output",
            $"block: {lines.Count(l => l.StartsWith("guest: block ", StringComparison.Ordinal) && l.Contains(" done head=", StringComparison.Ordinal))} requests completed, {lines.Count(l => l.StartsWith("guest: block read #", StringComparison.Ordinal) && l.Contains(" verified ", StringComparison.Ordinal))} reads verified",
            $"net: {Count("guest: net tx len=")} frames sent, {lines.Count(l => l.StartsWith("guest: net rx head=", StringComparison.Ordinal) && !l.EndsWith("(short)", StringComparison.Ordinal))} received",
            $"outcome: {outcome}; exit status {status}",
        };
        if (isolations.Count > 0)
        {
            // Isolate mode only: a run that powered off cleanly may still have lost a device for a while.
            summary.Insert(summary.Count - 1, "isolated: " + string.Join(", ", isolations.Select(i => $"{i.Device} ({i.Fault})")));
        }

        return string.Join('\n', summary) + "\n";
    }

    private sealed class TranscriptObserver(T transcript, DevicePage page, IReadOnlyList<VirtioDevice> devices, Action<VirtioDevice, GuestFaultException> isolated) : ILauncherObserver
    {
        public void OnNotify(uint address) => transcript.Line($"launcher: notify {T.Hex(address)} ({Describe(address)})");

        public void OnReset(VirtioDevice device)
        {
        }

        public void OnInterrupt(VirtioDevice device, Virtqueue queue)
        {
            // Not for block: its requests complete on the device's worker thread, and how many
            // completions one break of the run finds (so how the irqs interleave with the guest's
            // lines) depends on thread timing. The guest's "done" lines, reported in submission
            // order once the whole batch is back, record each completion deterministically.
            if (device is BlockDevice)
            {
                return;
            }

            transcript.Line($"launcher: irq {queue.Config.Irq} ({device.Name} vq{IndexOf(device, queue)})");
        }

        public void OnEarlyOutput(ReadOnlySpan<byte> text) => transcript.Line($"early> {T.Quote(text)}");

        public void OnWarning(string message) => transcript.Line($"launcher: warning: {message}");

        public void OnIsolated(VirtioDevice device, GuestFaultException fault)
        {
            transcript.Line($"launcher: {device.Name} isolated: guest fault {fault.Fault}: {fault.Detail}");
            isolated(device, fault);
        }

        private static int IndexOf(VirtioDevice device, Virtqueue queue)
        {
            for (int i = 0; i < device.Record.Queues.Count; i++)
            {
                if (device.Record.Queues[i] == queue)
                {
                    return i;
                }
            }

            return -1;
        }

        private string Describe(uint address)
        {
            foreach (VirtioDevice d in devices)
            {
                if (d.Record.DescriptorAddress == address)
                {
                    return $"reset {d.Name}";
                }

                for (int i = 0; i < d.Record.Queues.Count; i++)
                {
                    if (d.Record.Queues[i].Config.Pfn == address / LguestLayout.PageSize)
                    {
                        return $"{d.Name} vq{i}";
                    }
                }
            }

            return address < page.GuestLimit ? "early console" : "unmatched";
        }
    }
}
