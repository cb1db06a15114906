using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Fuzz;
using Xunit;

namespace LguestSim.Tests.Property.Fuzz;

/// <summary>
/// Each oracle bites: a planted bug (a device writing one byte past its buffer, a used length
/// that lies, a Launcher checking rules in the wrong order) is reported within a bounded number
/// of executions, as a shrunk scenario that replays to the same failure with the bug planted
/// and passes without it.
/// </summary>
public sealed class OracleBiteTests
{
    private const long Budget = 5000;

    [Fact]
    public void ByteWrittenPastWritableBuffer_MemoryOracle()
    {
        FuzzFailure f = FindWith(PlantStrayWrite, FuzzOracle.Memory);
        Assert.Contains("memory: byte", f.Verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UsedLengthThatLies_UsedLengthOracle()
    {
        FuzzFailure f = FindWith(PlantLyingLength, FuzzOracle.UsedLength);
        Assert.Contains("used length", f.Verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongFaultOrder_OutcomeOracle()
    {
        FuzzFailure f = FindWith(PlantWrongOrder, FuzzOracle.Outcome);
        Assert.Contains("ReadableAfterWritable", f.Verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void IsolationThatTakesTheConsoleDown_LivenessOracle()
    {
        // A block or net device's isolation (the console's own isolation owes no console liveness).
        FuzzFailure f = FindWith(PlantConsoleDown, FuzzOracle.Liveness, GuestErrorMode.Isolate, [FuzzDevice.Block, FuzzDevice.Net]);
        Assert.Contains("a console write did not come out", f.Verdict.Reason, StringComparison.Ordinal);
    }

    /// <summary>Fuzzes with <paramref name="plant"/> until a failure, then replays its scenario.</summary>
    private static FuzzFailure FindWith(Action<FuzzMachine> plant, FuzzOracle oracle, GuestErrorMode mode = GuestErrorMode.Exit, FuzzDevice[]? devices = null)
    {
        FuzzReport report = Fuzzer.Run(new FuzzOptions
        {
            Executions = Budget,
            Seed = 3,
            MachineCreated = plant,
            MaxFailures = 1,
            Modes = [mode],
            Devices = devices ?? [FuzzDevice.Console, FuzzDevice.Net, FuzzDevice.Block],
        });
        Assert.True(report.FailureCount > 0, $"no failure in {Budget} executions");
        FuzzFailure f = report.Failures[0];
        Assert.Equal(oracle, f.Verdict.Oracle);

        // Shrunk: a handful of steps, not the whole program.
        Assert.True(f.Program.Steps.Count <= 12, f.Scenario);

        // The saved scenario replays to the same failure with the bug in place ...
        FuzzReplayResult again = FuzzReplay.Run(f.Scenario, "bite.scenario", plant);
        Assert.Equal(f.Verdict, again.Verdict);

        // ... and passes without it: the bug, not the program, is what failed.
        FuzzReplayResult clean = FuzzReplay.Run(f.Scenario, "bite.scenario");
        Assert.True(clean.Verdict.Ok, clean.Transcript);
        return f;
    }

    /// <summary>A device that writes one byte past the last writable buffer of each chain it completes.</summary>
    private static void PlantStrayWrite(FuzzMachine m)
    {
        var seen = new Dictionary<ulong, ushort>();
        m.AfterEvent = (memory, layout) => ForEachNewCompletion(memory, layout, seen, (_, head, ring) =>
        {
            if (LastWritable(memory, ring, head, layout.Num) is { } end && end < memory.Limit)
            {
                memory.WriteU8(end, (byte)(memory.ReadU8(end) ^ 0x5a));
            }
        });
    }

    /// <summary>A device whose used length is one more than it wrote.</summary>
    private static void PlantLyingLength(FuzzMachine m)
    {
        var seen = new Dictionary<ulong, ushort>();
        m.AfterEvent = (memory, layout) => ForEachNewCompletion(memory, layout, seen, (elem, _, _) =>
            memory.WriteU32(elem + 4, memory.ReadU32(elem + 4) + 1));
    }

    /// <summary>An isolation that also stops the console: its status byte cleared, so its kicks are ignored.</summary>
    private static void PlantConsoleDown(FuzzMachine m) =>
        m.OnIsolation = (memory, layout) => memory.WriteU8(layout.Status(layout.Console), 0);

    /// <summary>A Launcher that checks a buffer's direction before its bounds.</summary>
    private static void PlantWrongOrder(FuzzMachine m) =>
        m.ExitOverride = exit => exit.Fault == GuestFault.BufferOutOfBounds ? exit with { Fault = GuestFault.ReadableAfterWritable } : exit;

    private static void ForEachNewCompletion(GuestMemory memory, FuzzLayout layout, Dictionary<ulong, ushort> seen, Action<ulong, ushort, ulong> act)
    {
        int d = layout.Target;
        for (int q = 0; q < layout.Queues(d); q++)
        {
            ulong used = layout.Used(d, q);
            ushort idx = memory.ReadU16(used + 2);
            ushort last = seen.GetValueOrDefault(used);
            if (idx == last)
            {
                continue;
            }

            seen[used] = idx;
            if ((ushort)(idx - last) > layout.Num)
            {
                continue;
            }

            ulong elem = used + 4 + (8UL * (ulong)((idx - 1) % layout.Num));
            act(elem, (ushort)memory.ReadU32(elem), layout.Ring(d, q));
        }
    }

    /// <summary>The address just past the chain's last writable buffer, or null.</summary>
    private static ulong? LastWritable(GuestMemory memory, ulong ring, ushort head, int num)
    {
        ulong? end = null;
        uint i = head;
        for (int n = 0; n < num && i < num; n++)
        {
            ulong desc = ring + (16UL * i);
            ulong addr = memory.ReadU64(desc);
            uint len = memory.ReadU32(desc + 8);
            ushort flags = memory.ReadU16(desc + 12);
            if ((flags & 2) != 0 && len > 0)
            {
                end = addr + len;
            }

            if ((flags & 1) == 0)
            {
                break;
            }

            i = memory.ReadU16(desc + 14);
        }

        return end;
    }
}
