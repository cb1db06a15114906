using LguestSim.Engine.Launch;
using LguestSim.Fuzz;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim fuzz --afl [--mode exit|isolate]</c>: the coverage-guided entry (issue 12 item 5).
/// One input on standard input becomes a hostile program through
/// <see cref="FuzzTarget.RunBytes"/>, which runs it with every oracle. Under afl-fuzz
/// (SharpFuzz's fork server, <c>__AFL_SHM_ID</c> set) an oracle failure is thrown, so AFL++
/// records the input as a crash, and a guest fault is a normal outcome; without afl-fuzz the
/// one input runs once and its verdict is printed as one line, exit status 0 when it held.
/// <c>lguestsim fuzz --afl --emit-corpus DIR</c> writes seed inputs instead: one per device
/// and class, each chosen because it decodes to that pair and passes (on a build that is not
/// instrumented: outside SharpFuzz's fork server an instrumented assembly has no trace map).
/// </summary>
/// <remarks>
/// Main hands this entry the words after <c>fuzz</c> when one of them is <c>--afl</c>, before
/// the rest of the command line is parsed, so the entry stays apart from <c>fuzz</c>'s own
/// options. scripts/fuzz-afl.sh instruments the engine and fuzz assemblies of a published
/// build with <c>sharpfuzz</c>, so the trace bits AFL++ reads are the engine's own branches.
/// </remarks>
internal static class AflEntry
{
    /// <summary>Inputs longer than this are cut (AFL++'s own default maximum is 1 MiB).</summary>
    private const int MaxInput = 1 << 20;

    /// <summary>Length of an emitted seed: enough choices for a multi-step program.</summary>
    private const int SeedLength = 128;

    /// <summary>How many random candidates the corpus search draws before it gives up on a device/class pair.</summary>
    private const int SeedTries = 200_000;

    /// <summary>Runs the entry; <paramref name="words"/> are the words after <c>fuzz</c>.</summary>
    public static int Run(string[] words)
    {
        GuestErrorMode mode = GuestErrorMode.Exit;
        string? corpus = null;
        for (int i = 0; i < words.Length; i++)
        {
            string w = words[i];
            if (w == "--afl")
            {
                continue;
            }

            if (w is "--mode" or "--emit-corpus" && i + 1 >= words.Length)
            {
                return Usage($"{w} needs a value");
            }

            switch (w)
            {
                case "--mode":
                    string m = words[++i];
                    if (!GuestErrorModeNames.TryParse(m, out mode))
                    {
                        return Usage($"--mode '{m}' is not exit or isolate (with --afl, one mode at a time)");
                    }

                    break;
                case "--emit-corpus":
                    corpus = words[++i];
                    break;
                default:
                    return Usage($"'{w}' is not an option of fuzz --afl (it takes --mode exit|isolate and --emit-corpus DIR)");
            }
        }

        return corpus is null ? RunInput(mode) : EmitCorpus(corpus, mode);
    }

    /// <summary>The verdict for one input, exceptions included (<see cref="FuzzTarget.RunBytes"/> should catch them all; this is the net under it).</summary>
    public static FuzzVerdict Verdict(ReadOnlySpan<byte> input, GuestErrorMode mode)
    {
        try
        {
            return FuzzTarget.RunBytes(input, mode);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return FuzzVerdict.Fail(FuzzOracle.Crash, $"{e.GetType().Name} escaped RunBytes: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private static int RunInput(GuestErrorMode mode)
    {
        bool underAfl = Environment.GetEnvironmentVariable("__AFL_SHM_ID") is not null;
        byte[] buffer = new byte[4096];
        bool ok = false;
        string line = "";

        // Under afl-fuzz this never returns: SharpFuzz's fork server calls the action once per
        // input, and reports an exception that escapes it as FAULT_CRASH. Without afl-fuzz it
        // calls the action once on standard input and returns. Everything that runs
        // instrumented code (the engine and the fuzz assembly, FuzzVerdict's members included)
        // stays inside the action: an instrumented build has a trace map only there (afl-fuzz's
        // shared memory, or one SharpFuzz lends for the one call).
        SharpFuzz.Fuzzer.Run(stream =>
        {
            int length = ReadAll(stream, ref buffer);
            FuzzVerdict verdict = Verdict(buffer.AsSpan(0, length), mode);
            ok = verdict.Ok;
            if (!ok && underAfl)
            {
                throw new OracleFailedException(verdict.ToString());
            }

            if (!underAfl)
            {
                line = $"{DescribeInput(buffer.AsSpan(0, length))}: {verdict}";
            }
        });

        Console.WriteLine(line);
        return ok ? 0 : 1;
    }

    private static int ReadAll(Stream stream, ref byte[] buffer)
    {
        int length = 0;
        while (length < MaxInput)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxInput));
            }

            int n = stream.Read(buffer, length, buffer.Length - length);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        return length;
    }

    private static int EmitCorpus(string directory, GuestErrorMode mode)
    {
        Directory.CreateDirectory(directory);

        // Random candidates, kept by what they decode to, so the seeds follow FuzzTarget's
        // decoding whatever it becomes; a fixed seed keeps the corpus the same run to run.
        var wanted = new HashSet<(FuzzDevice, FuzzClass)>();
        foreach (FuzzDevice d in Enum.GetValues<FuzzDevice>())
        {
            foreach (FuzzClass c in FuzzClasses.All.Where(c => c.AppliesTo(d)))
            {
                wanted.Add((d, c));
            }
        }

        var random = new Random(12);
        byte[] candidate = new byte[SeedLength];
        int written = 0;
        for (int tries = 0; tries < SeedTries && wanted.Count > 0; tries++)
        {
            random.NextBytes(candidate);
            FuzzProgram program = FuzzTarget.Decode(candidate);
            if (!wanted.Contains((program.Target, program.Class)) || !Verdict(candidate, mode).Ok)
            {
                continue;
            }

            wanted.Remove((program.Target, program.Class));
            string name = Describe(program).Replace('/', '-');
            File.WriteAllBytes(Path.Combine(directory, name), candidate);
            written++;
        }

        Console.WriteLine($"wrote {written} seed inputs to {directory}"
            + (wanted.Count == 0 ? "" : $"; no passing input found for {string.Join(", ", wanted.Select(p => Describe(p.Item1, p.Item2)))}"));
        return written > 0 ? 0 : 1;
    }

    /// <summary>"device/class", as the verdict line and the seed names spell a program.</summary>
    public static string Describe(FuzzProgram program) => Describe(program.Target, program.Class);

    private static string DescribeInput(ReadOnlySpan<byte> input)
    {
        try
        {
            return Describe(FuzzTarget.Decode(input));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Already reported by the verdict (a Crash): the line still names what it can.
            return "undecodable";
        }
    }

    private static string Describe(FuzzDevice device, FuzzClass c) => $"{device.ToString().ToLowerInvariant()}/{c.Name()}";

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"lguestsim: fuzz --afl: {message}. See 'lguestsim --help'.");
        return 1;
    }

    /// <summary>Thrown under afl-fuzz when an oracle fails, so SharpFuzz reports the input as a crash.</summary>
    private sealed class OracleFailedException(string verdict) : Exception(verdict);
}
