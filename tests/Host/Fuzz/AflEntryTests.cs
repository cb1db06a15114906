using System.Diagnostics;
using LguestSim.Engine.Launch;
using LguestSim.Fuzz;
using Xunit;

namespace LguestSim.Tests.Host.Fuzz;

/// <summary>
/// <c>lguestsim fuzz --afl</c> without afl-fuzz (issue 12 item 5): the real program, one input
/// on standard input, must give the verdict <see cref="FuzzTarget.RunBytes"/> gives for the
/// same bytes and mode, so the coverage-guided path cannot drift from the fuzz target unseen.
/// Needs no AFL++: SharpFuzz runs the one input itself when no afl-fuzz is there.
/// </summary>
public sealed class AflEntryTests
{
    /// <summary>Fixed inputs: empty, tiny, one per device with a fixed class byte, and random ones of a fixed seed.</summary>
    private static readonly byte[][] s_inputs = MakeInputs();

    [Fact]
    public void Afl_FixedInputs_GiveFuzzTargetsVerdicts()
    {
        var reasons = new HashSet<string>();
        var devices = new HashSet<FuzzDevice>();
        foreach (GuestErrorMode mode in new[] { GuestErrorMode.Exit, GuestErrorMode.Isolate })
        {
            foreach (byte[] input in s_inputs)
            {
                FuzzVerdict expected = FuzzTarget.RunBytes(input, mode);
                FuzzProgram program = FuzzTarget.Decode(input);
                string modeWord = mode == GuestErrorMode.Exit ? "exit" : "isolate";

                (int exit, string stdout, string stderr) = RunAfl(input, "fuzz", "--afl", "--mode", modeWord);

                string what = $"input {Convert.ToHexString(input)} in {modeWord} mode";
                Assert.True(stderr.Length == 0, $"{what}: stderr '{stderr}'");
                string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.True(lines.Length == 1, $"{what}: expected one line, got '{stdout}'");
                string device = program.Target.ToString().ToLowerInvariant();
                Assert.Equal($"{device}/{program.Class.Name()}: {expected}", lines[0]);
                Assert.Equal(expected.Ok ? 0 : 1, exit);
                reasons.Add(expected.Reason);
                devices.Add(program.Target);
            }
        }

        // The inputs must reach every device and more than one way a run ends, or the
        // comparison above would hold for a wiring that ignored its input.
        Assert.Equal(3, devices.Count);
        Assert.True(reasons.Count >= 3, $"only {string.Join(", ", reasons)}");
    }

    [Fact]
    public void Afl_EmitCorpus_WritesOnePassingInputPerDeviceAndClass()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"lguestsim-afl-seeds-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            (int exit, string stdout, string stderr) = RunAfl([], "fuzz", "--afl", "--emit-corpus", dir);

            Assert.True(exit == 0, $"exit {exit}: {stdout} {stderr}");
            string[] files = Directory.GetFiles(dir);
            int pairs = Enum.GetValues<FuzzDevice>().Sum(d => FuzzClasses.All.Count(c => c.AppliesTo(d)));
            Assert.Equal(pairs, files.Length);
            Assert.Equal($"wrote {pairs} seed inputs to {dir}", stdout.Trim());
            foreach (string file in files)
            {
                byte[] input = File.ReadAllBytes(file);
                FuzzProgram program = FuzzTarget.Decode(input);
                Assert.Equal($"{program.Target.ToString().ToLowerInvariant()}-{program.Class.Name()}", Path.GetFileName(file));
                Assert.True(FuzzTarget.RunBytes(input, GuestErrorMode.Exit).Ok, Path.GetFileName(file));
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("--mode", "both")]
    [InlineData("--mode")]
    [InlineData("--seconds", "5")]
    public void Afl_BadWords_OneLineAndExit1(params string[] words)
    {
        (int exit, string stdout, string stderr) = RunAfl([], ["fuzz", "--afl", .. words]);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("lguestsim: fuzz --afl: ", stderr, StringComparison.Ordinal);
    }

    private static byte[][] MakeInputs()
    {
        List<byte[]> inputs = [[], [0x01], [0x00, 0x00, 0x07], [0x01, 0x03, 0x10, 0x20], [0x02, 0x0c, 0x01, 0x00, 0xff, 0xff]];
        var random = new Random(20261206);
        for (int i = 0; i < 7; i++)
        {
            byte[] b = new byte[random.Next(8, 160)];
            random.NextBytes(b);
            inputs.Add(b);
        }

        return inputs.ToArray();
    }

    /// <summary>Runs the built lguestsim with <paramref name="stdin"/> as its standard input, with no afl-fuzz variables.</summary>
    private static (int Exit, string Stdout, string Stderr) RunAfl(byte[] stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lguestsim.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // Whatever ran these tests, the entry must see no fork server.
        psi.Environment.Remove("__AFL_SHM_ID");

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("lguestsim fuzz --afl did not finish in 120 s");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
