using LguestSim.Fuzz;
using Xunit;

namespace LguestSim.Tests.Property.Fuzz;

/// <summary>CI's fixed-seed fuzz run: every class on every device it applies to, and no failure.</summary>
public sealed class FuzzSmokeTests
{
    [Fact]
    public void FixedSeed_20000Executions_EveryClassHit_NoFailure()
    {
        FuzzReport report = Fuzzer.Run(new FuzzOptions { Executions = 20_000, Seed = 12, Modes = FuzzModes.All });
        Assert.Equal(20_000, report.Executions);
        Assert.True(report.FailureCount == 0, Failures(report));
        Assert.Equal(FuzzClasses.All.Count, report.ClassesHit);

        // Both ways a run can end are exercised in every cell that can end cleanly or fault.
        Assert.True(report.Cells.Values.Sum(c => c.Clean) > 1000);
        Assert.True(report.Cells.Values.Sum(c => c.Faulted) > 1000);
    }

    [Fact]
    public void SameSeed_SameMatrix()
    {
        string a = Matrix(Fuzzer.Run(new FuzzOptions { Executions = 3000, Seed = 5 }));
        string b = Matrix(Fuzzer.Run(new FuzzOptions { Executions = 3000, Seed = 5 }));
        string c = Matrix(Fuzzer.Run(new FuzzOptions { Executions = 3000, Seed = 6 }));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void BlockFaultsInExitMode_ReuseTheMachine_NoRebuild()
    {
        // A fault of the block worker ends an exit-mode run with the worker parked on it; the
        // fuzzer drops it (VirtioDevice.DropPendingFault) and resets the device instead of
        // building a new machine, and the next programs are served by the same worker.
        FuzzReport report = RunOneMachine(FuzzDevice.Block, 2000, 4, FuzzClass.BlockSector, FuzzClass.BlockHeader, FuzzClass.BlockPastEnd, FuzzClass.BlockScsi);
        Assert.True(report.Cells.Values.Sum(c => c.Faulted) > 200);
        Assert.True(report.Cells.Values.Sum(c => c.Clean) > 200);
    }

    [Fact]
    public void ConsoleInputThatEnded_IsServedAgain_NoRebuild()
    {
        // A zero-length console input buffer reads 0 bytes, which is end of file: the console
        // stops listening for good. The fuzzer reopens its input (ConsoleDevice.ReopenInput)
        // for the next program rather than building a new machine, and the model, which starts
        // every program with input alive, must agree with what the device then does.
        RunOneMachine(FuzzDevice.Console, 3000, 9, FuzzClass.LenZero, FuzzClass.RxWithheld);
    }

    /// <summary>Fuzzes one device in exit mode: no failure, and the one machine built at the start is the only one.</summary>
    private static FuzzReport RunOneMachine(FuzzDevice device, long executions, ulong seed, params FuzzClass[] classes)
    {
        FuzzReport report = Fuzzer.Run(new FuzzOptions { Executions = executions, Seed = seed, Devices = [device], Classes = classes });
        Assert.True(report.FailureCount == 0, Failures(report));
        Assert.Equal(1, report.MachinesBuilt);
        return report;
    }

    /// <summary>Each failure kept, with its scenario: what a failing assertion shows.</summary>
    private static string Failures(FuzzReport r) => string.Join("\n", r.Failures.Select(f => $"{f.Verdict}\n{f.Scenario}"));

    private static string Matrix(FuzzReport r) =>
        string.Join(";", r.Cells.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value.Executions}/{kv.Value.Clean}/{kv.Value.Faulted}/{kv.Value.Failed}"));
}
