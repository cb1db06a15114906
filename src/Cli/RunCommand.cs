using System.Globalization;
using LguestSim.Backends.Kernel;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
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
    /// The whole machine, in lguest.c's order: guest memory, the device page, the devices in
    /// command-line order with the console last, the kernel, <c>LHREQ_INITIALIZE</c>, the
    /// Waker, the run loop; then everything taken down again whatever happened.
    /// </summary>
    /// <remarks>
    /// Threads: <c>Initialize</c> and <c>Launcher.Run</c> are called here, on this one thread,
    /// so the guest's owner task (lg.ko's check) is the run loop's; the Waker only breaks.
    /// Two departures from lguest.c's order, so that a missing file creates nothing: the device
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
        var devices = new List<VirtioDevice>();
        TerminalConsolePort? console = null;
        PollWaker? waker = null;
        try
        {
            channel = KernelChannel.Open(cl.DevicePath, memory.BaseAddress);
            foreach (DeviceOption option in cl.Devices.Where(d => d.Kind == DeviceOptionKind.Block))
            {
                stores.Add(FileBlockStore.Open(option.Argument));
            }

            var page = new DevicePage(memory);
            int block = 0;
            foreach (DeviceOption option in cl.Devices)
            {
                if (option.Kind == DeviceOptionKind.TunNet)
                {
                    TunNetArgument.TryParse(option.Argument, out TunNetArgument? argument, out _);
                    TunTap tap = TunTap.Open(argument!);
                    taps.Add(tap);
                    devices.Add(NetDevice.Create(page, tap));
                    verbose?.Write($"device {devices.Count - 1}: net on {tap.Name} ({option.Argument})\n");
                }
                else
                {
                    FileBlockStore store = stores[block++];
                    devices.Add(BlockDevice.Create(page, store));
                    verbose?.Write($"device {devices.Count - 1}: block on {option.Argument} ({store.Length} bytes)\n");
                }
            }

            // The console comes last, on our own stdin/stdout; a terminal is raw from here until disposed.
            console = TerminalConsolePort.OpenStandard();
            devices.Add(ConsoleDevice.Create(page, console));
            verbose?.Write($"device {devices.Count - 1}: console on stdin/stdout\n");

            BootSetup setup = BootLoader.Load(memory, cl);
            verbose?.Write($"Loaded {setup.Kernel.Format} kernel {cl.KernelPath}, entry 0x{setup.Entry:x}, page directory 0x{setup.PageDirectory:x}; device page 0x{page.Address:x}, guest limit 0x{page.GuestLimit:x}\n");

            channel.Initialize((uint)(page.GuestLimit / LguestLayout.PageSize), setup.PageDirectory, setup.Entry);
            waker = new PollWaker(channel);
            var launcher = new Launcher(channel, page, devices, waker, new Observer(stdout, verbose));
            try
            {
                return launcher.Run();
            }
            catch (LguestHostException e)
            {
                return new LauncherExit(LauncherExitKind.HostError, 1, e.Message);
            }
        }
        finally
        {
            // Block workers first (their completions signal the Waker), then the channel, which
            // lets go a Waker held in BREAK and destroys the guest, then the Waker; the host
            // ends after that, the console (terminal restored) and guest memory last.
            foreach (VirtioDevice d in devices)
            {
                (d as BlockDevice)?.Dispose();
            }

            channel?.Dispose();
            waker?.Dispose();
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
