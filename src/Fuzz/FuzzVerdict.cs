namespace LguestSim.Fuzz;

/// <summary>The oracle an execution failed.</summary>
public enum FuzzOracle : byte
{
    /// <summary>None: the execution passed.</summary>
    None,

    /// <summary>The run ended otherwise than the reference model says (or the early console differs).</summary>
    Outcome,

    /// <summary>A byte of guest memory differs from the model's copy.</summary>
    Memory,

    /// <summary>A used length lies: more than the writable bytes, or not what the spec fixes.</summary>
    UsedLength,

    /// <summary>A block file differs from the model's disk.</summary>
    Disk,

    /// <summary>Isolate mode: after the fault, the console or the healthy disk stopped working.</summary>
    Liveness,

    /// <summary>An exception that is neither a guest fault nor a host error.</summary>
    Crash,
}

/// <summary>What one execution came to: ok, or the oracle it failed with a one-line reason.</summary>
/// <param name="Ok">True when every oracle held.</param>
/// <param name="Oracle">The oracle that failed.</param>
/// <param name="Reason">One line: the failure, or (when ok) how the run ended ("clean", a fault code, "HostError").</param>
public readonly record struct FuzzVerdict(bool Ok, FuzzOracle Oracle, string Reason)
{
    /// <summary>A pass with no detail.</summary>
    public static FuzzVerdict Pass { get; } = new(true, FuzzOracle.None, "clean");

    /// <summary>A failure of <paramref name="oracle"/>.</summary>
    public static FuzzVerdict Fail(FuzzOracle oracle, string reason) => new(false, oracle, reason);

    /// <inheritdoc/>
    public override string ToString() => Ok ? $"ok ({Reason})" : $"FAIL {Oracle}: {Reason}";
}
