using System.Diagnostics;
using System.Globalization;
using System.Text;
using LguestSim.Engine.Launch;

namespace LguestSim.Fuzz;

/// <summary>What a fuzz run does.</summary>
public sealed class FuzzOptions
{
    /// <summary>Stop after this long (wall clock), if set.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Stop after this many executions, if set.</summary>
    public long? Executions { get; init; }

    /// <summary>The seed: the same seed gives the same programs in the same order.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Modes to run (each execution picks one, in turn).</summary>
    public IReadOnlyList<GuestErrorMode> Modes { get; init; } = [GuestErrorMode.Exit];

    /// <summary>Devices to fuzz.</summary>
    public IReadOnlyList<FuzzDevice> Devices { get; init; } = [FuzzDevice.Console, FuzzDevice.Net, FuzzDevice.Block];

    /// <summary>Classes to run (those that apply to each device).</summary>
    public IReadOnlyList<FuzzClass> Classes { get; init; } = FuzzClasses.All;

    /// <summary>Where to save each failure's shrunk scenario, or null.</summary>
    public string? SaveDirectory { get; init; }

    /// <summary>Only single-kick programs (one request, one kick): the throughput figure.</summary>
    public bool SingleKick { get; init; }

    /// <summary>Where the once-a-second progress line goes, or null.</summary>
    public TextWriter? Progress { get; init; }

    /// <summary>Most failures kept (and shrunk and saved); the run counts the rest.</summary>
    public int MaxFailures { get; init; } = 20;

    /// <summary>Test hook: called for each machine the fuzzer builds (to plant a bug in it).</summary>
    public Action<FuzzMachine>? MachineCreated { get; init; }
}

/// <summary>One failure: the shrunk program, what failed, and where it was saved.</summary>
/// <param name="Verdict">The failure.</param>
/// <param name="Program">The shrunk program.</param>
/// <param name="Mode">The mode.</param>
/// <param name="Scenario">The program as scenario text.</param>
/// <param name="SavedTo">The file it was saved to, or null.</param>
public sealed record FuzzFailure(FuzzVerdict Verdict, FuzzProgram Program, GuestErrorMode Mode, string Scenario, string? SavedTo);

/// <summary>Executions and outcomes of one class × device × mode cell.</summary>
public sealed class FuzzCell
{
    /// <summary>Executions.</summary>
    public long Executions { get; internal set; }

    /// <summary>Runs that ended cleanly (the guest powered off).</summary>
    public long Clean { get; internal set; }

    /// <summary>Runs that ended with a guest fault (or a host error) the model predicted.</summary>
    public long Faulted { get; internal set; }

    /// <summary>Runs where an oracle failed.</summary>
    public long Failed { get; internal set; }
}

/// <summary>The result of a fuzz run.</summary>
public sealed class FuzzReport
{
    internal FuzzReport(FuzzOptions options) => Options = options;

    /// <summary>The options it ran with.</summary>
    public FuzzOptions Options { get; }

    /// <summary>Executions.</summary>
    public long Executions { get; internal set; }

    /// <summary>Machines built (one per device, plus one after each run that left a device stuck).</summary>
    public long MachinesBuilt { get; internal set; }

    /// <summary>Wall-clock time.</summary>
    public TimeSpan Elapsed { get; internal set; }

    /// <summary>Failures found (all counted; the first <see cref="FuzzOptions.MaxFailures"/> kept).</summary>
    public long FailureCount { get; internal set; }

    /// <summary>The failures kept, shrunk.</summary>
    public List<FuzzFailure> Failures { get; } = new();

    /// <summary>Cells by (class, device, mode).</summary>
    public Dictionary<(FuzzClass Class, FuzzDevice Device, GuestErrorMode Mode), FuzzCell> Cells { get; } = new();

    /// <summary>Processor time the process used meanwhile (all its threads).</summary>
    public TimeSpan CpuTime { get; internal set; }

    /// <summary>Executions per second of wall-clock time.</summary>
    public double Rate => Executions / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>
    /// Executions per second of processor time: the one-core figure, which a machine shared
    /// with other work does not drag down the way it drags the wall-clock rate.
    /// </summary>
    public double CpuRate => Executions / Math.Max(CpuTime.TotalSeconds, 1e-9);

    /// <summary>Classes run on every selected device they apply to.</summary>
    public int ClassesHit => Options.Classes.Count(c =>
        Options.Devices.Where(d => c.AppliesTo(d)).All(d => Options.Modes.All(m => Cells.TryGetValue((c, d, m), out FuzzCell? cell) && cell.Executions > 0))
        && Options.Devices.Any(d => c.AppliesTo(d)));

    /// <summary>The matrix: class × device × mode, executions and outcomes.</summary>
    public string Matrix()
    {
        var sb = new StringBuilder();
        var columns = Options.Devices.SelectMany(d => Options.Modes.Select(m => (d, m))).ToList();
        sb.Append("class".PadRight(24));
        foreach ((FuzzDevice d, GuestErrorMode m) in columns)
        {
            sb.Append($"{FuzzScenario.DeviceName(d)}/{FuzzScenario.ModeName(m)}".PadLeft(30));
        }

        sb.Append('\n');
        sb.Append(string.Empty.PadRight(24));
        foreach (var _ in columns)
        {
            sb.Append("execs  clean  fault  FAIL".PadLeft(30));
        }

        sb.Append('\n');
        foreach (FuzzClass c in Options.Classes)
        {
            sb.Append(c.Name().PadRight(24));
            foreach ((FuzzDevice d, GuestErrorMode m) in columns)
            {
                if (!c.AppliesTo(d))
                {
                    sb.Append("-".PadLeft(30));
                    continue;
                }

                Cells.TryGetValue((c, d, m), out FuzzCell? cell);
                cell ??= new FuzzCell();
                sb.Append(string.Create(CultureInfo.InvariantCulture, $"{cell.Executions,11}{cell.Clean,7}{cell.Faulted,7}{cell.Failed,6}").PadLeft(30));
            }

            sb.Append('\n');
        }

        sb.Append(string.Create(CultureInfo.InvariantCulture, $"{Executions} executions in {Elapsed.TotalSeconds:F1} s ({Rate:F0}/s; {CpuRate:F0} per CPU-second), {ClassesHit}/{Options.Classes.Count} classes hit on every device they apply to, {FailureCount} failures, {MachinesBuilt} machines built\n"));
        return sb.ToString();
    }
}

/// <summary>
/// The fuzz loop: executions in turn over every class × device × mode cell selected, each a
/// fresh program from one seeded stream; every failure shrunk and (optionally) saved.
/// </summary>
public static class Fuzzer
{
    /// <summary>Runs the fuzzer.</summary>
    public static FuzzReport Run(FuzzOptions options)
    {
        var report = new FuzzReport(options);
        // One machine per device and mode, each with the cells (classes) it runs.
        var machines = new List<FuzzMachine>();
        var groups = new List<MachineCells>();
        foreach (FuzzDevice d in options.Devices)
        {
            foreach (GuestErrorMode mode in options.Modes)
            {
                var m = new FuzzMachine(d, mode);
                options.MachineCreated?.Invoke(m);
                machines.Add(m);
                var group = new MachineCells(m, mode);
                foreach (FuzzClass c in options.Classes.Where(c => c.AppliesTo(d)))
                {
                    var cell = new FuzzCell();
                    report.Cells[(c, d, mode)] = cell;
                    group.Cells.Add((c, cell));
                }

                if (group.Cells.Count > 0)
                {
                    groups.Add(group);
                }
            }
        }

        if (options.SaveDirectory is { } dir)
        {
            Directory.CreateDirectory(dir);
        }

        var r = new FuzzRandom(options.Seed);
        using Process self = Process.GetCurrentProcess();
        TimeSpan cpuStart = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long nextProgress = Stopwatch.Frequency;
        long limit = options.Executions ?? long.MaxValue;
        long deadline = options.Duration is { } t ? (long)(t.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        long n = 0;
        long batch = options.Executions is { } total ? Math.Clamp(total / (8L * Math.Max(1, groups.Count)), 1, MaxBatch) : MaxBatch;
        try
        {
            for (; n < limit && groups.Count > 0; n++)
            {
                // The clock is read every 256 executions: one read costs more than a short program.
                if ((n & 255) == 0)
                {
                    long now = clock.ElapsedTicks;
                    if (now >= deadline)
                    {
                        break;
                    }

                    if (now >= nextProgress && options.Progress is { } progress)
                    {
                        nextProgress = now + Stopwatch.Frequency;
                        report.Executions = n;
                        report.Elapsed = clock.Elapsed;
                        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fuzz: {n} execs, {report.Rate:F0} execs/s, classes hit {report.ClassesHit}/{options.Classes.Count}, failures {report.FailureCount}"));
                    }
                }

                // The machines take turns of `batch` executions, so that the one running
                // keeps its memory in the cache; within a run its classes take turns.
                MachineCells group = groups[(int)(n / batch % groups.Count)];
                (FuzzClass cls, FuzzCell cell) = group.Cells[group.Next];
                group.Next = (group.Next + 1) % group.Cells.Count;
                FuzzMachine machine = group.Machine;
                GuestErrorMode mode = group.Mode;
                FuzzProgram program = ProgramGenerator.Generate(cls, machine.Layout, r, options.SingleKick, group.Program);
                FuzzVerdict verdict = machine.Run(program);
                cell.Executions++;
                if (verdict.Ok)
                {
                    if (verdict.Reason == "clean")
                    {
                        cell.Clean++;
                    }
                    else
                    {
                        cell.Faulted++;
                    }

                    continue;
                }

                cell.Failed++;
                report.FailureCount++;
                if (report.Failures.Count < options.MaxFailures)
                {
                    // A copy: the group's program is made again for the next execution.
                    report.Failures.Add(Keep(machine, program.With(program.Steps), mode, verdict, options.SaveDirectory, report.Failures.Count));
                }
            }
        }
        finally
        {
            foreach (FuzzMachine m in machines)
            {
                report.MachinesBuilt += m.Builds;
                m.Dispose();
            }
        }

        report.Executions = n;
        report.Elapsed = clock.Elapsed;
        self.Refresh();
        report.CpuTime = self.TotalProcessorTime - cpuStart;
        return report;
    }

    /// <summary>
    /// At most this many executions in a row on one machine before the next takes its turn (a
    /// run of a given number of executions uses shorter turns, so that every machine has eight).
    /// </summary>
    private const int MaxBatch = 1024;

    /// <summary>A machine and the cells (class, device, mode) it runs, taking turns.</summary>
    private sealed class MachineCells(FuzzMachine machine, GuestErrorMode mode)
    {
        public FuzzMachine Machine { get; } = machine;

        public GuestErrorMode Mode { get; } = mode;

        public List<(FuzzClass Class, FuzzCell Cell)> Cells { get; } = new();

        public int Next { get; set; }

        /// <summary>The program each execution on the machine is made in.</summary>
        public FuzzProgram Program { get; } = new(machine.Layout.Kind(machine.Layout.Target), default);
    }

    /// <summary>
    /// Shrinks a failing program: drops steps one at a time while the same oracle still fails,
    /// until no single step can go.
    /// </summary>
    public static (FuzzProgram Program, FuzzVerdict Verdict) Shrink(FuzzMachine machine, FuzzProgram program, FuzzVerdict verdict)
    {
        bool progress = true;
        while (progress)
        {
            progress = false;
            for (int i = program.Steps.Count - 1; i >= 0; i--)
            {
                FuzzProgram smaller = program.With(program.Steps.Where((_, j) => j != i));
                FuzzVerdict v = machine.Run(smaller);
                if (!v.Ok && v.Oracle == verdict.Oracle)
                {
                    program = smaller;
                    verdict = v;
                    progress = true;
                }
            }
        }

        return (program, verdict);
    }

    private static FuzzFailure Keep(FuzzMachine machine, FuzzProgram program, GuestErrorMode mode, FuzzVerdict verdict, string? dir, int index)
    {
        (FuzzProgram small, FuzzVerdict v) = Shrink(machine, program, verdict);
        string text = FuzzScenario.Write(small, mode, machine.Layout, [$"found by lguestsim fuzz: class {small.Class.Name()}, device {FuzzScenario.DeviceName(small.Target)}, mode {FuzzScenario.ModeName(mode)}", $"failure: {v}"]);
        string? path = null;
        if (dir is not null)
        {
            path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"fuzz-{index:D3}-{small.Class.Name()}-{FuzzScenario.DeviceName(small.Target)}-{FuzzScenario.ModeName(mode)}.scenario"));
            File.WriteAllText(path, text);
        }

        return new FuzzFailure(v, small, mode, text, path);
    }
}
