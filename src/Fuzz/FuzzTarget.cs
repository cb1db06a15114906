namespace LguestSim.Fuzz;

/// <summary>
/// The one-shot entry for a coverage-guided fuzzer (AFL++ through SharpFuzz): arbitrary bytes
/// become a hostile program (the first choices pick the device and the class, the rest feed
/// the class's operator), which runs on a fuzz machine with every oracle.
/// </summary>
public static class FuzzTarget
{
    // One machine per device for the life of the process: a one-shot entry is called again and
    // again by the fuzzer's loop, and building a machine costs more than running a program.
    [ThreadStatic]
    private static FuzzMachine?[]? t_machines;

    /// <summary>Maps <paramref name="input"/> to a hostile program and runs it with all oracles.</summary>
    /// <param name="input">Any bytes.</param>
    /// <param name="mode">What the Launcher does with a guest fault.</param>
    /// <returns>Ok, or the oracle that failed with a one-line reason.</returns>
    public static FuzzVerdict RunBytes(ReadOnlySpan<byte> input, GuestErrorMode mode)
    {
        var r = new FuzzRandom(input);
        FuzzProgram program = Decode(r, mode, out FuzzMachine machine);
        return machine.Run(program);
    }

    /// <summary>The program <paramref name="input"/> maps to, on the machine for its device (for saving a crash as a scenario).</summary>
    public static FuzzProgram Decode(ReadOnlySpan<byte> input) => Decode(new FuzzRandom(input), GuestErrorMode.Exit, out _);

    private static FuzzProgram Decode(FuzzRandom r, GuestErrorMode mode, out FuzzMachine machine)
    {
        var device = (FuzzDevice)r.Next(3);
        FuzzClass[] classes = FuzzClasses.All.Where(c => c.AppliesTo(device)).ToArray();
        FuzzClass cls = classes[r.Next(classes.Length)];
        t_machines ??= new FuzzMachine?[6];
        machine = t_machines[((int)device * 2) + (int)mode] ??= new FuzzMachine(device, mode);
        return ProgramGenerator.Generate(cls, machine.Layout, r);
    }
}
