using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Emulator.Fuse;
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
            Description = "Run this scenario's guest behind each open, over the Launcher's memory. Default: the probe guest, which obeys "
                + "interrupts (1 notify, 2 power off, 3 panic, 4 reboot) and needs no guest memory.",
        };
        var transcript = new Option<FileInfo?>("--transcript")
        {
            Description = "Write what the device saw (opens, requests, how each run ended) to this file when the server stops.",
        };
        var command = new Command("lgdev", "Serve an emulated /dev/lguest over FUSE until SIGTERM or SIGINT, or until DIR is unmounted; "
            + "then unmount DIR. Point a Launcher at DIR/lguest. Exit status 0, or 1 when it cannot be served.")
        {
            mount, scenario, transcript,
        };
        command.SetAction(parse => Run(parse.GetValue(mount)!, parse.GetValue(scenario), parse.GetValue(transcript)));
        return command;
    }

    private static int Run(DirectoryInfo directory, FileInfo? scenarioFile, FileInfo? transcriptFile)
    {
        if (!directory.Exists)
        {
            Console.Error.WriteLine($"lguestsim: mount point {directory} does not exist");
            return 1;
        }

        IGuestFactory factory;
        try
        {
            factory = CreateFactory(scenarioFile);
        }
        catch (ScenarioException e)
        {
            Console.Error.WriteLine($"lguestsim: {e.Message}");
            return 1;
        }
        catch (NotSupportedException e)
        {
            Console.Error.WriteLine($"lguestsim: {e.Message}");
            return 1;
        }

        var lines = new T();
        var model = new LguestDeviceModel(factory) { Log = lines.Line };
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
        if (transcriptFile is not null)
        {
            string temp = transcriptFile.FullName + ".tmp";
            File.WriteAllText(temp, lines.ToString(), new UTF8Encoding(false));
            File.Move(temp, transcriptFile.FullName, overwrite: true);
        }

        if (serveError is not null)
        {
            Console.Error.WriteLine($"lguestsim: {serveError}");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// The guest behind each open. SEAM: a scenario guest needs the Launcher's memory (remote
    /// guest-physical memory through process_vm_readv/writev at <see cref="LguestBoot.Base"/>)
    /// and the scenario's host side; until those exist, <c>--scenario</c> is refused after the
    /// scenario is checked. Wire it here: an <see cref="IGuestFactory"/> whose
    /// <see cref="IGuestFactory.Create"/> builds a ScenarioGuest over that memory, starting at
    /// the step after the previous open's <c>reboot</c>.
    /// </summary>
    private static IGuestFactory CreateFactory(FileInfo? scenarioFile)
    {
        if (scenarioFile is null)
        {
            return new ProbeGuestFactory();
        }

        ScenarioParser.ParseFile(scenarioFile.FullName, scenarioFile.ToString());
        throw new NotSupportedException("lgdev --scenario needs the scenario guest over the Launcher's memory, which is not wired yet; without --scenario the probe guest runs");
    }
}
