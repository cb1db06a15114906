using System.CommandLine;
using LguestSim.Engine;

namespace LguestSim.Cli;

/// <summary>
/// The <c>lguestsim</c> entry point: builds the command tree, one command group per file,
/// and turns every expected failure into a single line on stderr.
/// </summary>
internal static class Program
{
    /// <summary>Exit code for a command line that does not parse or validate (as lguest's usage error; 2 is the three-Ctrl-C exit).</summary>
    private const int ExitUsage = 1;

    /// <summary>Exit code for a run that failed (guest fault, Launcher or host error).</summary>
    private const int ExitFailure = 1;

    private static int Main(string[] args)
    {
        // `run` takes lguest's own command line (getopt rules, options before MEM, kernel
        // arguments after the kernel that may look like anything): its words are handed over
        // untouched, never parsed by System.CommandLine.
        if (args.Length > 0 && args[0] == "run")
        {
            return Guarded(() => RunCommand.Run(args[1..]));
        }

        // `fuzz --afl` reads one input from standard input under SharpFuzz's fork server (and
        // takes only --mode and --emit-corpus): handed over before parsing, like `run`.
        if (args.Length > 0 && args[0] == "fuzz" && args.Contains("--afl"))
        {
            return Guarded(() => AflEntry.Run(args[1..]));
        }

        RootCommand root = new("LguestSim: the 2.6.25 lguest Launcher as a test harness and simulator.");
        root.Subcommands.Add(SimCommand.Create());
        root.Subcommands.Add(BenchCommands.Create());
        root.Subcommands.Add(LgdevCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());

        // Listed for --help only: Main hands `run` its words before parsing.
        root.Subcommands.Add(new Command("run", "The lguest Launcher on /dev/lguest: lguestsim run [--verbose] [--tunnet=ADDR|bridge:NAME]... [--block=FILE]... "
            + "[--initrd=FILE] [--device=PATH] MEM vmlinux [kernel args...]. Exit status 1 when the guest dies or on any error, 2 after three Ctrl-C; a reboot re-executes it."));

        ParseResult parsed = root.Parse(args);

        // System.CommandLine would print the error followed by the whole help text; a user
        // who typed a bad value wants to see what was wrong, on one line.
        if (parsed.UnmatchedTokens.Count > 0)
        {
            // Name the word that was not understood, rather than what it left missing.
            Console.Error.WriteLine($"lguestsim: '{parsed.UnmatchedTokens[0]}' is not a command or option here. See 'lguestsim --help'.");
            return ExitUsage;
        }

        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"lguestsim: {parsed.Errors[0].Message.ReplaceLineEndings(" ")} See 'lguestsim --help'.");
            return ExitUsage;
        }

        return Guarded(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    /// <summary>Runs a command, turning every expected failure into one line on stderr and status 1.</summary>
    private static int Guarded(Func<int> command)
    {
        try
        {
            return command();
        }
        catch (GuestFaultException e)
        {
            return Fail($"guest fault {e.Message}");
        }
        catch (LauncherException e)
        {
            return Fail(e.Message);
        }
        catch (IOException e)
        {
            return Fail(e.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"lguestsim: {message}");
        return ExitFailure;
    }
}
