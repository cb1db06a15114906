using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using LguestSim.Cli.Bench;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim bench ...</c>: the micro-benchmarks whose figures are compared with the
/// C reference programs of <c>shared/bench</c>, run side by side on the same machine.
/// </summary>
internal static class BenchCommands
{
    private const long DefaultVringChains = 20_000_000;
    private const int DefaultVringRuns = 3;

    /// <summary>Builds the <c>bench</c> command group.</summary>
    public static Command Create()
    {
        Command bench = new("bench", "Run a micro-benchmark and print its figure.");
        bench.Subcommands.Add(CreateVring());
        bench.Subcommands.Add(CreateBlock());
        return bench;
    }

    private static Command CreateVring()
    {
        Option<long> chains = new("--chains")
        {
            Description = "Number of descriptor chains to pass through the ring.",
            DefaultValueFactory = _ => DefaultVringChains,
            CustomParser = ParsePositive<long>,
        };

        Option<int> runs = new("--runs")
        {
            Description = "Timed runs after the warm-up; the median is printed last.",
            DefaultValueFactory = _ => DefaultVringRuns,
            CustomParser = ParsePositive<int>,
        };

        Command vring = new("vring", "Pop and complete 3-descriptor chains on a 128-entry ring (compare with vring_baseline.c).");
        vring.Options.Add(chains);
        vring.Options.Add(runs);
        vring.SetAction(parseResult => RunVring(parseResult.GetValue(chains), parseResult.GetValue(runs)));
        return vring;
    }

    private static int RunVring(long chains, int runs)
    {
        VringBenchResult[] results = VringBench.Measure(chains, runs);
        CultureInfo inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"chains={chains}"));

        // Every run completes the same chains, so each checksum is the same figure.
        Console.WriteLine(string.Create(inv, $"checksum={results[0].Checksum}"));
        for (int i = 0; i < results.Length; i++)
        {
            Console.WriteLine(string.Create(inv, $"run {i + 1}: ns_per_chain={results[i].NanosecondsPerChain:F2}"));
        }

        double[] sorted = [.. results.Select(r => r.NanosecondsPerChain).Order()];
        double median = sorted.Length % 2 == 1
            ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        Console.WriteLine(string.Create(inv, $"ns_per_chain={median:F2}"));
        return 0;
    }

    private static Command CreateBlock()
    {
        Option<int> size = new("--size-mib") { Description = "Size of the disk file in MiB.", DefaultValueFactory = _ => 256, CustomParser = ParsePositive<int> };
        Option<int> request = new("--request-kib") { Description = "Bytes per read, in KiB.", DefaultValueFactory = _ => 64, CustomParser = ParsePositive<int> };
        Option<string> pattern = new("--pattern") { Description = "Read offsets: seq (sequential) or rand (random, aligned).", DefaultValueFactory = _ => "seq" };
        pattern.AcceptOnlyFromAmong("seq", "rand");
        Option<int> depth = new("--depth") { Description = "Requests the guest keeps in flight (1 to 42: a read takes 3 of the ring's 128 descriptors).", DefaultValueFactory = _ => 32, CustomParser = ParsePositive<int> };
        Option<int> total = new("--total-mib") { Description = "MiB read per measurement.", DefaultValueFactory = _ => 2048, CustomParser = ParsePositive<int> };
        Option<FileInfo?> file = new("--file")
        {
            Description = "Read this file instead of a temporary one, and keep it: made (of --size-mib, each 8-byte word holding its own offset) if it does not exist; "
                + "an existing one must have been made so (the guest checks every read), and its size replaces --size-mib.",
        };
        Option<bool> noPin = new("--no-pin") { Description = "Leave thread placement to the scheduler instead of giving the block worker a CPU of its own." };

        Command block = new("block", "Read a cached file through the simulated guest's block device (compare with pread_baseline.c); prints ratio=X last.");
        block.Options.Add(size);
        block.Options.Add(request);
        block.Options.Add(pattern);
        block.Options.Add(depth);
        block.Options.Add(total);
        block.Options.Add(noPin);
        block.Options.Add(file);
        block.SetAction(parseResult => RunBlock(new BlockBenchOptions(
            parseResult.GetValue(size),
            parseResult.GetValue(request),
            parseResult.GetValue(pattern) == "rand",
            parseResult.GetValue(depth),
            parseResult.GetValue(total),
            !parseResult.GetValue(noPin),
            parseResult.GetValue(file)?.FullName)));
        return block;
    }

    /// <summary>Largest <c>--request-kib</c>: 256 MiB.</summary>
    private const int MaxRequestKiB = 256 * 1024;

    /// <summary>Most guest RAM a block bench may ask for, in MiB.</summary>
    private const long MaxBenchGuestMiB = 1024;

    private static int RunBlock(BlockBenchOptions options)
    {
        if (options.File is { } path && File.Exists(path))
        {
            long length = new FileInfo(path).Length;
            if (!BlockBench.IsBenchDisk(path) || length % (1 << 20) != 0)
            {
                Console.Error.WriteLine($"lguestsim: {path} was not made by bench block --file (a whole number of MiB, each 8-byte word holding its own offset)");
                return 1;
            }

            options = options with { SizeMiB = (int)(length >> 20) };
        }

        if (options.Depth > 42)
        {
            Console.Error.WriteLine("lguestsim: --depth must be at most 42: each read takes 3 of the ring's 128 descriptors.");
            return 1;
        }

        if (options.RequestKiB > MaxRequestKiB)
        {
            Console.Error.WriteLine($"lguestsim: --request-kib must be at most {MaxRequestKiB} (256 MiB).");
            return 1;
        }

        // The bench guest's RAM holds four times the bytes in flight (BlockBench); the
        // simulated guest's memory is limited to 2 GiB, so the product stays within 1 GiB.
        long guestMiB = (long)options.Depth * options.RequestKiB * 4 / 1024;
        if (guestMiB > MaxBenchGuestMiB)
        {
            Console.Error.WriteLine($"lguestsim: --request-kib {options.RequestKiB} with --depth {options.Depth} needs {guestMiB} MiB of guest memory (4 x the bytes in flight); at most {MaxBenchGuestMiB} MiB: lower one of them.");
            return 1;
        }

        if ((long)options.RequestKiB * 1024 > (long)options.SizeMiB << 20)
        {
            Console.Error.WriteLine("lguestsim: --request-kib must not be larger than the file (--size-mib).");
            return 1;
        }

        CultureInfo inv = CultureInfo.InvariantCulture;
        string pin = BlockBench.PlanCpus(options.Pin) is { } cpus
            ? string.Create(inv, $"worker on cpu {BitOperations.TrailingZeroCount(cpus.Worker)}, the rest on cpus 0x{cpus.Vcpu:x}")
            : "off";
        Console.WriteLine(string.Create(inv, $"file={options.SizeMiB}MiB request={options.RequestKiB}KiB pattern={(options.Random ? "rand" : "seq")} depth={options.Depth} total={options.TotalMiB}MiB pin={pin}"));
        (BlockRate raw, BlockRate guest) = BlockBench.Measure(options, Console.Out);
        Console.WriteLine(string.Create(inv, $"raw pread (C# loop, one buffer): mib_per_s={raw.MibPerSecond:F0} req_per_s={raw.RequestsPerSecond:F0}"));
        Console.WriteLine(string.Create(inv, $"guest via block device: mib_per_s={guest.MibPerSecond:F0} req_per_s={guest.RequestsPerSecond:F0}"));
        Console.WriteLine(string.Create(inv, $"ratio={guest.MibPerSecond / raw.MibPerSecond:F2}"));
        return 0;
    }

    private static T ParsePositive<T>(ArgumentResult result)
        where T : IBinaryInteger<T>, IMinMaxValue<T>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out T? value) || value <= T.Zero)
        {
            result.AddError($"{OptionName(result)} must be a whole number from 1 to {T.MaxValue}, not '{text}'.");
            return T.Zero;
        }

        return value;
    }

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : "the argument";
}
