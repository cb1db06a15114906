using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Emulator;
using LguestSim.Emulator.Fuse;
using LguestSim.Emulator.HostSide;
using LguestSim.Emulator.Lguest;
using LguestSim.Engine;
using LguestSim.Host.Fuse;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim lgdev</c>: serve an emulated <c>/dev/lguest</c> (a model of lg.ko, spec §2)
/// as DIR/lguest over FUSE, with a simulated guest behind every open.
/// </summary>
internal static class LgdevCommand
{
    /// <summary>The name of the one file, and of the FUSE filesystem.</summary>
    private const string FileName = "lguest";

    public static Command Create()
    {
        var mount = new Option<DirectoryInfo>("--mount")
        {
            Description = "Empty directory to mount the emulated device on; the device is DIR/lguest. Needs root (mount, /dev/fuse).",
            Required = true,
        };
        var scenario = new Option<FileInfo?>("--scenario")
        {
            Description = "Run this scenario's guest behind each open, over the Launcher's own memory (process_vm_readv/writev), its host side "
                + "on the Launcher's console input and taps; after a reboot the next open carries on at the step after it. Default: the probe guest, "
                + "which obeys interrupts (1 notify, 2 power off, 3 panic, 4 reboot) and needs no guest memory.",
        };
        var consoleInput = new Option<FileInfo?>("--console-input")
        {
            Description = "With --scenario: the Launcher's standard input (a FIFO), opened read-write at start-up (so the Launcher's open never waits), "
                + "written by the scenario's host.type and closed by host.console.eof (the Launcher's end of file).",
        };
        var transcript = new Option<FileInfo?>("--transcript")
        {
            Description = "Write what the device saw (opens, requests, how each run ended) to this file when the server stops.",
        };
        var stats = new Option<bool>("--stats")
        {
            Description = "When the server stops, print where the time went on standard output (stats: lines): runs, notifies, breaks, "
                + "interrupts, the guest's process_vm_readv/writev copies, with the time in each.",
        };
        var command = new Command("lgdev", "Serve an emulated /dev/lguest over FUSE until SIGTERM or SIGINT, or until DIR is unmounted; "
            + "then unmount DIR. Point a Launcher at DIR/lguest. Exit status 0, or 1 when it cannot be served.")
        {
            mount, scenario, consoleInput, transcript, stats,
        };
        command.SetAction(parse => Run(parse.GetValue(mount)!, parse.GetValue(scenario), parse.GetValue(consoleInput), parse.GetValue(transcript), parse.GetValue(stats)));
        return command;
    }

    private static int Run(DirectoryInfo directory, FileInfo? scenarioFile, FileInfo? consoleInput, FileInfo? transcriptFile, bool printStats)
    {
        if (!directory.Exists)
        {
            Console.Error.WriteLine($"lguestsim: mount point {directory} does not exist");
            return 1;
        }

        var lines = new T();
        LgdevStats? stats = printStats ? new LgdevStats() : null;
        IGuestFactory factory;
        LauncherConsoleInput? input = null;
        try
        {
            // Opened now, read-write: the Launcher's `< FIFO` then never waits for us, and sees
            // end of file only when the scenario closes it (host.console.eof).
            input = consoleInput is null ? null : LauncherConsoleInput.Open(consoleInput.FullName);
            factory = CreateFactory(scenarioFile, input, lines, stats);
        }
        catch (Exception e) when (e is ScenarioException or IOException)
        {
            input?.Dispose();
            Console.Error.WriteLine($"lguestsim: {e.Message}");
            return 1;
        }

        using LauncherConsoleInput? disposeInput = input;

        using var disposeFactory = factory as IDisposable;
        var model = new LguestDeviceModel(factory) { Log = lines.Line, Stats = stats };
        using FuseDevice device = FuseDevice.Mount(directory.FullName, FileName);
        var fileSystem = new OneFileFileSystem(device, FileName, model) { Warn = lines.Line };
        using var stop = new ManualResetEventSlim();
        string? serveError = null;
        var server = new Thread(() =>
        {
            try
            {
                fileSystem.Serve();
            }
            catch (LguestHostException e)
            {
                serveError = e.Message;
            }
            finally
            {
                stop.Set();
            }
        })
        { IsBackground = true, Name = "fuse reader" };

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }

        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        lines.Line($"serving {Path.Combine(device.MountPoint, FileName)}");
        server.Start();
        Console.Out.WriteLine($"lguestsim lgdev: serving {Path.Combine(device.MountPoint, FileName)}");
        stop.Wait();

        // Let go of every guest (and the calls they hold) before the mount goes, then detach
        // it by its exact path. The reader sees the connection end once nothing holds the
        // filesystem; if something still does, closing /dev/fuse at exit aborts it.
        model.ReleaseAll();
        int errno = FuseDevice.Unmount(device.MountPoint);
        if (errno != 0 && errno != 22)
        {
            Console.Error.WriteLine($"lguestsim: cannot unmount {device.MountPoint}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        server.Join(TimeSpan.FromSeconds(2));
        lines.Line("stopped");
        int status = 0;
        if (transcriptFile is not null)
        {
            try
            {
                // As sim's --transcript: a regular file replaced whole, a FIFO or device written in place.
                LguestSim.Host.Files.OutputFile.WriteAllText(transcriptFile.FullName, lines.ToString());
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"lguestsim: {e.Message}");
                status = 1;
            }
        }

        foreach (string line in stats?.Lines() ?? [])
        {
            Console.Out.WriteLine(line);
        }

        if (serveError is not null)
        {
            Console.Error.WriteLine($"lguestsim: {serveError}");
            return 1;
        }

        return status;
    }

    /// <summary>
    /// The guest behind each open: the probe guest, or the scenario's guest over the Launcher's
    /// memory with its host side (the Launcher's console input and taps) opened at each boot.
    /// </summary>
    private static IGuestFactory CreateFactory(FileInfo? scenarioFile, LauncherConsoleInput? consoleInput, T lines, LgdevStats? stats)
    {
        if (scenarioFile is null)
        {
            return new ProbeGuestFactory();
        }

        Scenario scenario = ScenarioParser.ParseFile(scenarioFile.FullName, scenarioFile.ToString());
        return new ScenarioGuestFactory(scenario, () => LauncherScenarioHost.Open(consoleInput), lines) { Stats = stats };
    }
}
