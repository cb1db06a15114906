using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Generators;

/// <summary>One step of a generated queue workload (the C# analogue of vm-virtio's fuzz enum).</summary>
public abstract record GuestOp;

/// <summary>Guest: <c>add_buf</c> with these readable then writable buffers.</summary>
public sealed record AddChain(GuestBuffer[] Readable, GuestBuffer[] Writable) : GuestOp
{
    public override string ToString() => $"AddChain(r={Readable.Length}, w={Writable.Length})";
}

/// <summary>Guest: publish staged chains and notify.</summary>
public sealed record Kick : GuestOp;

/// <summary>Host: pop up to <paramref name="Count"/> chains, completing each at once with <paramref name="Length"/>.</summary>
public sealed record HostPopAndComplete(int Count, uint Length) : GuestOp;

/// <summary>Host: pop everything available, completing each with <paramref name="Length"/>.</summary>
public sealed record HostPopAll(uint Length) : GuestOp;

/// <summary>Host: pop up to <paramref name="Count"/> chains and keep them in flight.</summary>
public sealed record HostPopHold(int Count) : GuestOp;

/// <summary>Host: complete the held chain at <c>Index % held</c> (out of order).</summary>
public sealed record HostCompleteHeld(int Index, uint Length) : GuestOp;

/// <summary>Guest: <c>get_buf</c> up to <paramref name="Count"/> times.</summary>
public sealed record GuestReclaim(int Count) : GuestOp;

/// <summary>Guest: <c>disable_cb</c>.</summary>
public sealed record DisableCallbacks : GuestOp;

/// <summary>Guest: <c>enable_cb</c>.</summary>
public sealed record EnableCallbacks : GuestOp;

/// <summary>
/// A whole model-test case: the queue's shape, how many chains to push through first (to
/// bring the 16-bit indices close to the wrap), then the operations.
/// </summary>
public sealed record QueueScenario(ushort Num, bool HasHandler, bool HasCallback, int WarmUp, GuestOp[] Ops)
{
    /// <summary>Ring at pfn 1; buffers live in <c>[DataStart, DataStart + DataSize)</c>.</summary>
    public const uint RingPfn = 1;

    public const ulong DataStart = 0x10000;

    public const ulong DataSize = 0x10000;

    public const ulong MemorySize = DataStart + DataSize;

    public override string ToString() =>
        $"num={Num} handler={HasHandler} callback={HasCallback} warmup={WarmUp} ops=[{string.Join(", ", Ops.Select(o => o.ToString()))}]";
}
