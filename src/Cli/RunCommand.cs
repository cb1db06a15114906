using System.Globalization;
using LguestSim.Backends.Kernel;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Block;
using LguestSim.Host.Memory;
using LguestSim.Host.Process;
using LguestSim.Host.Tap;
using LguestSim.Host.Terminal;
using LguestSim.Host.Waking;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim run</c>: the lguest Launcher itself, with lguest's command line, on a real
/// <c>/dev/lguest</c> (or the file <c>--device</c> names).
/// </summary>
/// <remarks>
/// <para>
/// Spec §7.8 and §6. Standard output carries only what the guest writes (early console output
/// and the virtio console), byte for byte, plus with <c>--verbose</c> what the Launcher does;
/// everything else of ours (warnings, the death reason, errors) goes to standard error.
/// </para>
/// <para>
/// Exit status: 1 when the guest dies (its reason on stderr as <c>lguestsim: REASON</c>, e.g.
/// <c>lguestsim: CRASH: Power down</c>, as lguest printed it), on a guest fault, a host error
/// or a bad command line; 2 after three Ctrl-C on the console. A reboot request re-executes
/// the process with the same arguments.
/// </para>
/// </remarks>
internal static class RunCommand
{
    private const string Program = "lguestsim";

    /// <summary>Runs the Launcher for <paramref name="args"/> (the words after <c>run</c>), returning the exit status.</summary>
    /// <exception cref="LauncherException">The kernel or initrd cannot be loaded, or the devices do not fit.</exception>
    /// <exception cref="IOException">A host resource (device file, tap, block file, memory) cannot be had.</exception>
    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Count == 1 && args[0] is "--help" or "-h")
        {
            Console.Out.Write(LauncherCommandLine.FormatUsage($"{Program} run"));
            return 0;
        }

        if (!LauncherCommandLine.TryParse(args, out LauncherCommandLine? cl, out CommandLineError? error))
        {
            Console.Error.WriteLine($"{Program}: {error.Message}");
            if (error.ShowUsage)
            {
                Console.Error.Write(LauncherCommandLine.FormatUsage($"{Program} run"));
            }

            return 1;
        }

        LauncherExit exit = RunMachine(cl);
        switch (exit.Kind)
        {
            case LauncherExitKind.Restart:
                // Everything of this guest is gone and the terminal is as we found it: start again.
                SelfExec.ReExecute();
                return 1;
            case LauncherExitKind.Requested:
                // Three Ctrl-C: lguest left silently with status 2.
                return exit.ExitStatus;
            case LauncherExitKind.GuestFault:
                Console.Error.WriteLine($"{Program}: guest fault {exit.Fault}: {exit.Message}");
                return 1;
            default:
                // The guest's death reason (lguest.c: errx("%s", reason)) or a host error.
                Console.Error.WriteLine($"{Program}: {exit.Message}");
                return 1;
        }
    }

    /// <summary>
    /// The whole run, in lguest.c's order: guest memory, the host ends of the devices in
    /// command-line order with the console last, then <see cref="Machine.Run"/> (device page,
    /// devices, kernel, <c>LHREQ_INITIALIZE</c>, the Waker, the run loop, and the shutdown of
    /// workers, channel and Waker); the host ends are closed after it whatever happened.
    /// </summary>
    /// <remarks>
    /// Threads: <see cref="Machine.Run"/> initializes the channel and runs the Launcher on this
    /// thread, so the guest's owner task (lg.ko's check) is the run loop's; the Waker only breaks.
    /// One departure from lguest.c's order, so that a missing file creates nothing: the device
    /// file and the block files are opened before any tap exists.
    /// </remarks>
    private static LauncherExit RunMachine(LauncherCommandLine cl)
    {
        TextWriter? verbose = cl.Verbose ? Console.Out : null;
        using Stream stdout = Console.OpenStandardOutput();
        using MappedGuestMemory memory = MappedGuestMemory.Create(cl.MemoryCapacity, cl.MemorySize);
        verbose?.Write($"Guest base is at 0x{memory.BaseAddress:x} ({cl.MemoryMiB} MiB, {LguestLayout.DevicePages} device pages above)\n");

        KernelChannel? channel = null;
        var stores = new List<FileBlockStore>();
        var taps = new List<TunTap>();
        TerminalConsolePort? console = null;
        try
        {
            channel = KernelChannel.Open(cl.DevicePath, memory.BaseAddress);
            foreach (DeviceOption option in cl.Devices.Where(d => d.Kind == DeviceOptionKind.Block))
            {
                stores.Add(FileBlockStore.Open(option.Argument));
            }

            var devices = new List<MachineDevice>();
            int block = 0;
            foreach (DeviceOption option in cl.Devices)
            {
                if (option.Kind == DeviceOptionKind.TunNet)
                {
                    TunNetArgument.TryParse(option.Argument, out TunNetArgument? argument, out _);
                    TunTap tap = TunTap.Open(argument!);
                    taps.Add(tap);
                    devices.Add(new MachineDevice(option.DeviceKind, tap));
                    verbose?.Write($"device {devices.Count - 1}: net on {tap.Name} ({option.Argument})\n");
                }
                else
                {
                    FileBlockStore store = stores[block++];
                    devices.Add(new MachineDevice(option.DeviceKind, store));
                    verbose?.Write($"device {devices.Count - 1}: block on {option.Argument} ({store.Length} bytes)\n");
                }
            }

            // The console comes last, on our own stdin/stdout; a terminal is raw from here until disposed.
            console = TerminalConsolePort.OpenStandard();
            devices.Add(new MachineDevice(DeviceKinds.Console, console));
            verbose?.Write($"device {devices.Count - 1}: console on stdin/stdout\n");

            KernelChannel opened = channel;
            MachineOutcome outcome = Machine.Run(new MachineDescription
            {
                MemorySize = cl.MemorySize,
                Memory = memory,
                Devices = devices,
                Kernel = new KernelBoot(cl.KernelPath, cl.InitrdPath, cl.KernelArguments),
                Built = setup => verbose?.Write(
                    $"Loaded {setup.Boot!.Kernel.Format} kernel {cl.KernelPath}, entry 0x{setup.Entry:x}, page directory 0x{setup.PageDirectory:x}; "
                    + $"device page 0x{setup.Page.Address:x}, guest limit 0x{setup.Page.GuestLimit:x}\n"),
                CreateChannel = _ => opened,
                CreateWaker = c => new PollWaker(c),
                CreateObserver = _ => new Observer(stdout, verbose),
                GuestErrors = cl.GuestErrors,
            });
            return outcome.Exit;
        }
        finally
        {
            // The machine disposed the channel if it got that far; if set-up failed before, it is
            // closed here. Then the host ends, the console (terminal restored), guest memory last.
            channel?.Dispose();
            foreach (TunTap t in taps)
            {
                t.Dispose();
            }

            foreach (FileBlockStore s in stores)
            {
                s.Dispose();
            }

            console?.Dispose();
        }
    }

    /// <summary>
    /// What the run loop reports: early console output raw to stdout (the guest's bytes), warnings
    /// to stderr, and with <c>--verbose</c> each notify, reset and interrupt on stdout.
    /// </summary>
    private sealed class Observer(Stream stdout, TextWriter? verbose) : ILauncherObserver
    {
        public void OnNotify(uint address) => verbose?.Write($"notify 0x{address:x}\n");

        public void OnReset(VirtioDevice device) => verbose?.Write($"reset {device.Name}\n");

        public void OnInterrupt(VirtioDevice device, Virtqueue queue) =>
            verbose?.Write($"irq {queue.Config.Irq.ToString(CultureInfo.InvariantCulture)} ({device.Name} vq{IndexOf(device, queue)})\n");

        public void OnEarlyOutput(ReadOnlySpan<byte> text)
        {
            stdout.Write(text);
            stdout.Flush();
        }

        public void OnWarning(string message) => Console.Error.WriteLine($"{Program}: warning: {message}");

        public void OnIsolated(VirtioDevice device, GuestFaultException fault) =>
            Console.Error.WriteLine($"{Program}: {device.Name} isolated: guest fault {fault.Fault}: {fault.Detail}");

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
    }
}
