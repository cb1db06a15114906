using System.CommandLine;
using System.Text;
using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Loader;
using LguestSim.Engine.Machine;
using LguestSim.Host.Block;
using LguestSim.Host.Files;
using LguestSim.Host.Tap;
using LguestSim.Host.Waking;

namespace LguestSim.Cli;

/// <summary><c>lguestsim sim</c>: run a scenario against the simulated 2.6.25 guest.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var scenario = new Option<FileInfo?>("--scenario")
        {
            Description = "Scenario file to run (fixtures/scenarios/*.scenario; format in README). Default: the built-in full-boot scenario.",
        };
        var block = new Option<FileInfo?>("--block")
        {
            Description = "Use this existing file as the (first) block device's disk instead of a temporary one. It is written to.",
        };
        var transcript = new Option<FileInfo?>("--transcript")
        {
            Description = "Also write the transcript to this file (replaced whole, only when the run completes).",
        };
        var kernel = new Option<FileInfo?>("--kernel")
        {
            Description = "Load this kernel image (ELF32 vmlinux or bzImage) first, as a real boot does; the simulated guest then reads the boot_params it set up.",
        };
        var initrd = new Option<FileInfo?>("--initrd")
        {
            Description = "With --kernel: load this initrd at the top of guest memory.",
        };
        var words = new Argument<string[]>("MEM args")
        {
            Description = "With --kernel: guest memory in MiB (overrides the scenario's), then the kernel command line.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "Print transcript lines as they happen instead of all at the end.",
        };
        var tunnet = new Option<string[]>("--tunnet")
        {
            Description = "Put the scenario's (first, second, …) net device on a real tap: --tunnet=ADDRESS gives the tap that IPv4 address and brings it up, "
                + "--tunnet=bridge:NAME attaches it to bridge NAME (spec §5.2). Repeatable, in net-device order. Needs root (CAP_NET_ADMIN).",
            Arity = ArgumentArity.OneOrMore,
        };
        var pcap = new Option<FileInfo?>("--pcap")
        {
            Description = "Write every frame crossing the net device(s), both directions, to this classic pcap file (Ethernet), for tcpdump -r or tshark -r.",
        };
        Option<string> consoleOption = ConsoleChoice.CreateOption();
        Option<bool> crashOption = ConsoleChoice.CreateCrashOption();

        var command = new Command("sim", "Run the real Launcher against the simulated guest and print the transcript. "
            + "Exit status: 0 when the guest powers off cleanly, 1 on a guest fault, panic, failed check or bad input, "
            + "2 after three Ctrl-C on the real console.")
        {
            scenario, block, transcript, kernel, initrd, verbose, words,
        };
        command.Options.Add(tunnet);
        command.Options.Add(pcap);
        command.Options.Add(consoleOption);
        command.Options.Add(crashOption);
        command.SetAction(parse => Run(
            parse.GetValue(scenario),
            parse.GetValue(block),
            parse.GetValue(transcript),
            parse.GetValue(verbose),
            parse.GetValue(kernel),
            parse.GetValue(initrd),
            parse.GetValue(words) ?? [],
            parse.GetValue(consoleOption) ?? "sim",
            parse.GetValue(crashOption),
            parse.GetValue(tunnet) ?? [],
            parse.GetValue(pcap)));
        return command;
    }

    private static int Run(FileInfo? scenarioFile, FileInfo? blockFile, FileInfo? transcriptFile, bool verbose, FileInfo? kernelFile, FileInfo? initrdFile, string[] words, string consoleMode, bool crashOnOutput, string[] tunnetValues, FileInfo? pcapFile)
    {
        // Every --tunnet value is checked before anything is created.
        var tunnets = new List<TunNetArgument>();
        foreach (string value in tunnetValues)
        {
            if (!TunNetArgument.TryParse(value, out TunNetArgument? argument, out string? why))
            {
                Console.Error.WriteLine($"lguestsim: {why}");
                return 1;
            }

            tunnets.Add(argument);
        }

        // An option System.CommandLine does not know lands among the words (MEM and the kernel
        // arguments); MEM is a number, so a first word that looks like an option is one.
        if (words.Length > 0 && words[0].StartsWith('-'))
        {
            Console.Error.WriteLine($"lguestsim: unknown option '{words[0]}' (see 'lguestsim sim --help')");
            return 1;
        }

        foreach ((FileInfo? file, string what) in new[] { (scenarioFile, "scenario"), (blockFile, "block file"), (kernelFile, "kernel"), (initrdFile, "initrd") })
        {
            // A missing scenario, kernel or initrd is reported where it is opened; a block file here.
            if (file is not null && PathProblem(file.FullName) is { } problem && (what == "block file" || Directory.Exists(file.FullName)))
            {
                Console.Error.WriteLine($"lguestsim: {what} {file} {problem}");
                return 1;
            }
        }

        uint? memoryMiB = null;
        if (kernelFile is null && (initrdFile is not null || words.Length > 0))
        {
            Console.Error.WriteLine("lguestsim: --initrd, MEM and kernel arguments need --kernel");
            return 1;
        }

        if (words.Length > 0)
        {
            if (!LauncherCommandLine.TryParseMemory(words[0], out uint mib, out CommandLineError? error))
            {
                Console.Error.WriteLine($"lguestsim: {error.Message}");
                return 1;
            }

            memoryMiB = mib;
        }

        if (scenarioFile is not null && File.Exists(scenarioFile.FullName) && FuzzScenarioText(scenarioFile.FullName) is { } fuzzText)
        {
            return RunFuzzScenario(fuzzText, scenarioFile.ToString(), transcriptFile);
        }

        Scenario scenario;
        try
        {
            scenario = scenarioFile is null ? BuiltInScenarios.Default() : ScenarioParser.ParseFile(scenarioFile.FullName, scenarioFile.ToString());
        }
        catch (ScenarioException e)
        {
            Console.Error.WriteLine($"lguestsim: {e.Message}");
            return 1;
        }

        if (blockFile is not null && !scenario.Devices.Any(d => d.Kind == DeviceKinds.Block))
        {
            Console.Error.WriteLine($"lguestsim: --block given but scenario {scenario.Name} has no block device");
            return 1;
        }

        int netDevices = scenario.Devices.Count(d => d.Kind == DeviceKinds.Net);
        if (tunnets.Count > netDevices)
        {
            Console.Error.WriteLine($"lguestsim: --tunnet given {tunnets.Count} time(s) but scenario {scenario.Name} has {netDevices} net device(s)");
            return 1;
        }

        // Real taps have real time; a simulated run's capture is stamped 1 ms a frame, the same every run.
        using PcapWriter? capture = pcapFile is null ? null : PcapWriter.Create(pcapFile.FullName, tunnets.Count > 0 ? TimeProvider.System : null);
        var opened = new List<TunTap>();

        // From here until it is disposed, a terminal on stdin is raw (--console=tty).
        using ConsoleChoice consoleChoice = ConsoleChoice.Open(consoleMode, crashOnOutput);
        var options = new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            BlockFile = blockFile?.FullName,
            Echo = verbose ? Console.Out : null,
            KernelPath = kernelFile?.FullName,
            InitrdPath = initrdFile?.FullName,
            KernelArguments = words.Skip(1).ToArray(),
            MemoryMiB = memoryMiB,
            ConsolePort = consoleChoice.Port,
            HaltTimeout = consoleChoice.HaltTimeout,
            RunTimeout = consoleChoice.RunTimeout,
            CreateWaker = consoleChoice.CreateWaker ?? (tunnets.Count > 0 ? channel => new PollWaker(channel) : null),
            OpenTap = tunnets.Count == 0 ? null : index => index < tunnets.Count ? Opened(opened, TunTap.Open(tunnets[index])) : null,
            WrapTap = capture is null ? null : tap => new PcapTap(tap, capture),
        };
        SimulationResult result = SimulationRunner.Run(scenario, options);

        // The guest is gone: give the user's terminal back before printing the results.
        consoleChoice.Dispose();
        if (!verbose)
        {
            Console.Out.Write(result.Transcript);
        }

        Console.Out.Write("---\n" + result.Summary);
        foreach (TunTap tap in opened)
        {
            string how = tap.Argument.IsBridge ? $"on bridge {tap.Argument.BridgeName}" : TunNetArgument.FormatAddress(tap.Argument.Address);
            Console.Out.Write($"tap: {tap.Name} ({how}), host MAC {FormatMac(tap.InterfaceAddress)}, guest MAC {FormatMac(tap.HardwareAddress)}\n");
        }

        if (capture is not null)
        {
            Console.Out.Write($"pcap: {capture.FrameCount} frames written to {pcapFile}\n");
        }

        if (result.Exit.Kind == LauncherExitKind.HostError)
        {
            Console.Error.WriteLine($"lguestsim: {result.Exit.Message}");
        }

        if (transcriptFile is not null)
        {
            // A regular file is replaced atomically, so an interrupted run never leaves half a
            // file; a FIFO or device is written in place. A failure is one line (IOException).
            OutputFile.WriteAllText(transcriptFile.ToString(), result.Transcript);
        }

        return result.ExitStatus;
    }

    /// <summary>The text of a fuzz scenario (one whose first step is <c>fuzz</c>), or null for any other file.</summary>
    private static string? FuzzScenarioText(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > ScenarioParser.MaxScenarioBytes)
        {
            return null;
        }

        string text = File.ReadAllText(path);
        return LguestSim.Fuzz.FuzzScenario.IsFuzzScenario(text) ? text : null;
    }

    /// <summary>
    /// A fuzz scenario (saved by <c>lguestsim fuzz --save</c>): replayed on a fuzz machine with
    /// every oracle on; exit status 1 when an oracle fails, as it did when it was found.
    /// </summary>
    private static int RunFuzzScenario(string text, string name, FileInfo? transcriptFile)
    {
        LguestSim.Fuzz.FuzzReplayResult result;
        try
        {
            result = LguestSim.Fuzz.FuzzReplay.Run(text, name);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"lguestsim: {e.Message}");
            return 1;
        }

        Console.Out.Write(result.Transcript);
        if (transcriptFile is not null)
        {
            OutputFile.WriteAllText(transcriptFile.ToString(), result.Transcript);
        }

        return result.Verdict.Ok ? 0 : 1;
    }

    /// <summary>What is wrong with <paramref name="path"/> as a file to read, or null when nothing is.</summary>
    internal static string? PathProblem(string path) =>
        Directory.Exists(path) ? "is a directory, not a file"
        : !File.Exists(path) ? "does not exist"
        : null;

    private static TunTap Opened(List<TunTap> opened, TunTap tap)
    {
        opened.Add(tap);
        return tap;
    }

    private static string FormatMac(ReadOnlySpan<byte> mac) => Backends.Simulated.Guest.NetDriver.FormatMac(mac);
}
