using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LguestSim.Engine.Launch;
using LguestSim.Fuzz;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim fuzz</c>: hostile guest programs against fuzz machines, every oracle after
/// every execution; a matrix at the end, each failure shrunk and saved as a scenario.
/// </summary>
internal static class FuzzCommand
{
    public static Command Create()
    {
        Option<double?> seconds = new("--seconds") { Description = "Run this long (default: 10 s unless --execs is given).", CustomParser = ParseSeconds };
        Option<long?> execs = new("--execs") { Description = "Run this many executions.", CustomParser = ParseCount };
        Option<ulong> seed = new("--seed") { Description = "Seed: the same seed gives the same programs in the same order.", DefaultValueFactory = _ => 1, CustomParser = ParseSeed };
        Option<string> mode = new("--mode") { Description = "Guest-error mode: exit, isolate or both.", DefaultValueFactory = _ => "exit" };
        mode.AcceptOnlyFromAmong("exit", "isolate", "both");
        Option<string> device = new("--device") { Description = "Device to fuzz: console, net, block or all.", DefaultValueFactory = _ => "all" };
        device.AcceptOnlyFromAmong("console", "net", "block", "all");
        Option<string[]> classes = new("--class") { Description = "Only these classes (repeatable): " + FuzzClasses.NameList + ".", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        Option<DirectoryInfo?> save = new("--save") { Description = "Save each failure, shrunk, as DIR/fuzz-NNN-CLASS-DEVICE-MODE.scenario (replay: lguestsim sim --scenario FILE)." };
        Option<bool> single = new("--single-kick") { Description = "Only single-kick programs (one request, one kick): the throughput figure." };
        // Listed for --help only: Program hands `fuzz --afl` to AflEntry before parsing.
        Option<bool> afl = new("--afl") { Description = "The AFL++ entry (scripts/fuzz-afl.sh): read one input from stdin, map it to a hostile program, run it with every oracle; "
            + "print one verdict line, exit 0 or 1 (under afl-fuzz a failure is a crash). Takes only --mode exit|isolate, and --emit-corpus DIR to write seed inputs." };

        var command = new Command("fuzz", "Fuzz the Launcher's devices with hostile descriptor chains in-process, checking a reference model, guest memory, "
            + "used lengths and the disks after every execution. Exit status 0 when nothing failed, 1 otherwise.")
        {
            seconds, execs, seed, mode, device, classes, save, single, afl,
        };
        command.SetAction(parse => Run(
            parse.GetValue(seconds),
            parse.GetValue(execs),
            parse.GetValue(seed),
            parse.GetValue(mode)!,
            parse.GetValue(device)!,
            parse.GetValue(classes) ?? [],
            parse.GetValue(save),
            parse.GetValue(single)));
        return command;
    }

    private static int Run(double? seconds, long? execs, ulong seed, string mode, string device, string[] classNames, DirectoryInfo? save, bool single)
    {
        GuestErrorMode[] modes = mode switch
        {
            "isolate" => [GuestErrorMode.Isolate],
            "both" => [GuestErrorMode.Exit, GuestErrorMode.Isolate],
            _ => [GuestErrorMode.Exit],
        };
        if (seconds is not null && execs is not null)
        {
            Console.Error.WriteLine("lguestsim: fuzz: give --seconds or --execs, not both");
            return 1;
        }

        FuzzDevice[] devices = device switch
        {
            "console" => [FuzzDevice.Console],
            "net" => [FuzzDevice.Net],
            "block" => [FuzzDevice.Block],
            _ => [FuzzDevice.Console, FuzzDevice.Net, FuzzDevice.Block],
        };
        var chosen = new List<FuzzClass>();
        foreach (string name in classNames.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!FuzzClasses.TryParse(name, out FuzzClass c))
            {
                Console.Error.WriteLine($"lguestsim: fuzz: unknown class '{name}' (classes: {FuzzClasses.NameList})");
                return 1;
            }

            chosen.Add(c);
        }

        IReadOnlyList<FuzzClass> classes = chosen.Count > 0 ? chosen.Distinct().ToList() : FuzzClasses.All;
        if (!classes.Any(c => devices.Any(d => c.AppliesTo(d))))
        {
            Console.Error.WriteLine("lguestsim: fuzz: none of those classes applies to the device(s) chosen");
            return 1;
        }

        if (save is not null && File.Exists(save.FullName))
        {
            Console.Error.WriteLine($"lguestsim: fuzz: --save {save.FullName}: a file, not a directory");
            return 1;
        }

        var options = new FuzzOptions
        {
            Duration = seconds is { } s ? TimeSpan.FromSeconds(s) : execs is null ? TimeSpan.FromSeconds(10) : null,
            Executions = execs,
            Seed = seed,
            Modes = modes,
            Devices = devices,
            Classes = classes,
            SaveDirectory = save?.FullName,
            SingleKick = single,
            Progress = Console.Error,
        };
        FuzzReport report = Fuzzer.Run(options);
        Console.Out.Write(report.Matrix());
        foreach (FuzzFailure f in report.Failures)
        {
            Console.Out.WriteLine($"failure: {FuzzScenario.ModeName(f.Mode)} {f.Program.Class.Name()} on {FuzzScenario.DeviceName(f.Program.Target)}: {f.Verdict}{(f.SavedTo is { } p ? $" (saved: {p})" : string.Empty)}");
        }

        return report.FailureCount == 0 ? 0 : 1;
    }

    private static double? ParseSeconds(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || v <= 0 || v > 1e7)
        {
            result.AddError($"--seconds must be a number of seconds above 0, not '{text}'.");
            return null;
        }

        return v;
    }

    private static long? ParseCount(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0)
        {
            result.AddError($"--execs must be a whole number from 1 to {long.MaxValue}, not '{text}'.");
            return null;
        }

        return v;
    }

    private static ulong ParseSeed(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
        {
            result.AddError($"--seed must be a whole number from 0 to {ulong.MaxValue}, not '{text}'.");
            return 0;
        }

        return v;
    }
}
