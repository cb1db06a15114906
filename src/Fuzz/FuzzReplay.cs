using System.Text;

namespace LguestSim.Fuzz;

/// <summary>What replaying a fuzz scenario came to.</summary>
/// <param name="Verdict">The oracles' verdict.</param>
/// <param name="Transcript">The steps played and the verdict, as text.</param>
public sealed record FuzzReplayResult(FuzzVerdict Verdict, string Transcript);

/// <summary>
/// Replays a fuzz scenario (a <c>fuzz</c> line, then steps) on a fuzz machine with every
/// oracle on: what <c>lguestsim sim --scenario</c> does with such a file.
/// </summary>
public static class FuzzReplay
{
    /// <summary>Replays scenario <paramref name="text"/>; messages name it <paramref name="file"/>.</summary>
    /// <param name="text">The scenario.</param>
    /// <param name="file">Its name for messages.</param>
    /// <param name="plant">Test hook: plants a bug in the machine before the run.</param>
    /// <exception cref="FormatException">The scenario is malformed.</exception>
    public static FuzzReplayResult Run(string text, string file, Action<FuzzMachine>? plant = null)
    {
        (FuzzDevice device, GuestErrorMode mode, FuzzClass cls) = FuzzScenario.ParseHeader(text, file);
        using var machine = new FuzzMachine(device, mode);
        machine.RecordRun = true;
        plant?.Invoke(machine);
        FuzzProgram program = FuzzScenario.ParseProgram(text, file, machine.Layout, device, cls);
        FuzzVerdict verdict = machine.Run(program);
        var sb = new StringBuilder();
        sb.Append($"fuzz: device {FuzzScenario.DeviceName(device)}, mode {FuzzScenario.ModeName(mode)}, class {cls.Name()}, guest_limit 0x{machine.Layout.Limit:x}\n");
        foreach (FuzzStep s in program.Steps)
        {
            sb.Append("guest: ").Append(FuzzScenario.StepText(s, machine.Layout)).Append('\n');
        }

        foreach (string line in machine.LastRun)
        {
            sb.Append(line).Append('\n');
        }

        sb.Append(verdict.Ok ? $"launcher: ended {verdict.Reason}\noracles: ok\n" : $"oracles: FAIL {verdict.Oracle}: {verdict.Reason}\n");
        return new FuzzReplayResult(verdict, sb.ToString());
    }
}
