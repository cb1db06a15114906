using System.CommandLine;
using System.Text;
using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Host.Block;

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
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "Print transcript lines as they happen instead of all at the end.",
        };

        var command = new Command("sim", "Run the real Launcher against the simulated guest and print the transcript. "
            + "Exit status: 0 when the guest powers off cleanly, 1 on a guest fault, panic, failed check or bad input.")
        {
            scenario, block, transcript, verbose,
        };
        command.SetAction(parse => Run(parse.GetValue(scenario), parse.GetValue(block), parse.GetValue(transcript), parse.GetValue(verbose)));
        return command;
    }

    private static int Run(FileInfo? scenarioFile, FileInfo? blockFile, FileInfo? transcriptFile, bool verbose)
    {
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

        if (blockFile is not null && !blockFile.Exists)
        {
            Console.Error.WriteLine($"lguestsim: block file {blockFile} does not exist");
            return 1;
        }

        if (blockFile is not null && !scenario.Devices.Any(d => d.Kind == DeviceKind.Block))
        {
            Console.Error.WriteLine($"lguestsim: --block given but scenario {scenario.Name} has no block device");
            return 1;
        }

        var options = new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            BlockFile = blockFile?.FullName,
            Echo = verbose ? Console.Out : null,
        };
        SimulationResult result = SimulationRunner.Run(scenario, options);
        if (!verbose)
        {
            Console.Out.Write(result.Transcript);
        }

        Console.Out.Write("---\n" + result.Summary);
        if (transcriptFile is not null)
        {
            // Write beside the target and rename, so an interrupted run never leaves half a file.
            string temp = transcriptFile.FullName + ".tmp";
            File.WriteAllText(temp, result.Transcript, new UTF8Encoding(false));
            File.Move(temp, transcriptFile.FullName, overwrite: true);
        }

        return result.ExitStatus;
    }
}
