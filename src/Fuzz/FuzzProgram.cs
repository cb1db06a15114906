namespace LguestSim.Fuzz;

/// <summary>What one step of a hostile guest program does.</summary>
public enum StepKind : byte
{
    /// <summary>Write descriptor <c>Index</c> of a queue's table (<c>ring.desc</c>).</summary>
    Desc,

    /// <summary>Put <c>Index</c> in the avail ring at <c>avail.idx</c> and bump the index (<c>ring.publish</c>).</summary>
    Publish,

    /// <summary>Set <c>avail.idx</c> to <c>Index</c> (<c>ring.avail-idx</c>).</summary>
    AvailIdx,

    /// <summary>Notify a queue's ring; for the block queue the worker then runs (<c>ring.kick</c>).</summary>
    Kick,

    /// <summary>Notify the block queue and let the worker not run yet (<c>ring.kick … defer</c>).</summary>
    KickDefer,

    /// <summary>Notify a device's descriptor address: reset it (<c>reset</c>).</summary>
    Reset,

    /// <summary>Notify an arbitrary address (<c>notify</c>).</summary>
    Notify,

    /// <summary>Write <c>Data</c> at <c>Address</c> (<c>poke</c>).</summary>
    Poke,

    /// <summary>Fill <c>Length</c> bytes at <c>Address</c> with <c>Value</c> (<c>fill</c>).</summary>
    Fill,

    /// <summary>The host side has <c>Length</c> bytes of input for the device: keys or a frame (<c>host.input</c>).</summary>
    HostInput,

    /// <summary>The block worker gets the CPU: a break of the run (<c>worker</c>).</summary>
    Worker,
}

/// <summary>One step of a hostile guest program.</summary>
/// <param name="Kind">What it does.</param>
/// <param name="Device">Index of the device in the fuzz machine (see <see cref="FuzzLayout"/>).</param>
/// <param name="Queue">Queue of the device.</param>
/// <param name="Index">Descriptor index, head, or avail index.</param>
/// <param name="Address">Descriptor address, poke/fill/notify address.</param>
/// <param name="Length">Descriptor length, fill length, input length.</param>
/// <param name="Flags">Descriptor flags.</param>
/// <param name="Next">Descriptor next.</param>
/// <param name="Value">Fill byte.</param>
/// <param name="Data">Poke bytes.</param>
public readonly record struct FuzzStep(
    StepKind Kind,
    byte Device = 0,
    byte Queue = 0,
    ushort Index = 0,
    ulong Address = 0,
    uint Length = 0,
    ushort Flags = 0,
    ushort Next = 0,
    byte Value = 0,
    byte[]? Data = null)
{
    /// <summary>A descriptor write.</summary>
    public static FuzzStep Desc(int device, int queue, int index, ulong addr, uint len, ushort flags, ushort next) =>
        new(StepKind.Desc, (byte)device, (byte)queue, (ushort)index, addr, len, flags, next);
}

/// <summary>A hostile guest program: the device it targets, the class that made it, its steps.</summary>
public sealed class FuzzProgram
{
    /// <summary>Creates an empty program.</summary>
    public FuzzProgram(FuzzDevice target, FuzzClass fuzzClass)
    {
        Target = target;
        Class = fuzzClass;
    }

    /// <summary>The device whose machine runs the program.</summary>
    public FuzzDevice Target { get; }

    /// <summary>The class (mutation operator) that made it.</summary>
    public FuzzClass Class { get; private set; }

    /// <summary>The steps in order.</summary>
    public List<FuzzStep> Steps { get; } = new(24);

    /// <summary>What the generator made this program's steps from, kept for the next program made in it.</summary>
    internal ProgramGenerator.Room? GeneratorRoom { get; set; }

    /// <summary>
    /// Empties the program for a new one of class <paramref name="fuzzClass"/> on the same
    /// target, keeping the room its steps had: the fuzz loop makes every program in one of these.
    /// </summary>
    internal void Restart(FuzzClass fuzzClass)
    {
        Class = fuzzClass;
        Steps.Clear();
    }

    /// <summary>A copy with <paramref name="steps"/> instead.</summary>
    public FuzzProgram With(IEnumerable<FuzzStep> steps)
    {
        var p = new FuzzProgram(Target, Class);
        p.Steps.AddRange(steps);
        return p;
    }
}

/// <summary>The device a fuzz machine is built around.</summary>
public enum FuzzDevice : byte
{
    /// <summary>The virtio console.</summary>
    Console,

    /// <summary>The virtio net device.</summary>
    Net,

    /// <summary>The virtio block device.</summary>
    Block,
}
