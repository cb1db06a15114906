using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LguestSim.Cli.Bench;

namespace LguestSim.Cli;

/// <summary>
/// <c>lguestsim bench ...</c>: the micro-benchmarks whose figures are compared with the
/// C reference programs of <c>shared/bench</c>, run side by side on the same machine.
/// </summary>
internal static class BenchCommands
{
    private const long DefaultVringChains = 20_000_000;

    /// <summary>Builds the <c>bench</c> command group.</summary>
    public static Command Create()
    {
        Command bench = new("bench", "Run a micro-benchmark and print its figure.");
        bench.Subcommands.Add(CreateVring());
        return bench;
    }

    private static Command CreateVring()
    {
        Option<long> chains = new("--chains")
        {
            Description = "Number of descriptor chains to pass through the ring.",
            DefaultValueFactory = _ => DefaultVringChains,
            CustomParser = ParsePositiveCount,
        };

        Command vring = new("vring", "Pop and complete 3-descriptor chains on a 128-entry ring (compare with vring_baseline.c).");
        vring.Options.Add(chains);
        vring.SetAction(parseResult => RunVring(parseResult.GetValue(chains)));
        return vring;
    }

    private static int RunVring(long chains)
    {
        VringBenchResult result = VringBench.Measure(chains);
        CultureInfo inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"chains={result.Chains}"));
        Console.WriteLine(string.Create(inv, $"checksum={result.Checksum}"));
        Console.WriteLine(string.Create(inv, $"ns_per_chain={result.NanosecondsPerChain:F2}"));
        return 0;
    }

    private static long ParsePositiveCount(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value <= 0)
        {
            result.AddError($"{OptionName(result)} must be a whole number from 1 to {long.MaxValue}, not '{text}'.");
            return 0;
        }

        return value;
    }

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : "the argument";
}
