using System.Text;
using LguestSim.Engine;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Infrastructure;

public enum PopKind
{
    Empty,
    Chain,
    Fault,
    Unexpected,
}

/// <summary>
/// What one pop produced, copied out of the engine's ref-struct chain (or produced by the
/// reference walker) so that tests can compare and print it.
/// </summary>
public sealed class PopOutcome
{
    private PopOutcome(PopKind kind)
    {
        Kind = kind;
    }

    public PopKind Kind { get; private init; }

    public GuestFault Fault { get; private init; }

    public Exception? Exception { get; private init; }

    public ushort Head { get; private init; }

    public IReadOnlyList<GuestBuffer> Buffers { get; private init; } = [];

    public int ReadableCount { get; private init; }

    public int WritableCount { get; private init; }

    /// <summary>The chain's own <c>WritableBytes</c>, as the engine reported it.</summary>
    public ulong WritableBytes { get; private init; }

    /// <summary>Lengths of <c>Readable</c> and <c>Writable</c> as the engine reported them.</summary>
    public (int Readable, int Writable) SliceLengths { get; private init; }

    public static PopOutcome Empty() => new(PopKind.Empty);

    public static PopOutcome Faulted(GuestFault fault) => new(PopKind.Fault) { Fault = fault };

    public static PopOutcome Chain(ushort head, IReadOnlyList<GuestBuffer> buffers, int readable)
    {
        ulong writableBytes = 0;
        for (int i = readable; i < buffers.Count; i++)
        {
            writableBytes += buffers[i].Length;
        }

        return new(PopKind.Chain)
        {
            Head = head,
            Buffers = buffers,
            ReadableCount = readable,
            WritableCount = buffers.Count - readable,
            WritableBytes = writableBytes,
            SliceLengths = (readable, buffers.Count - readable),
        };
    }

    /// <summary>Pops once from the engine and records what happened, whatever it was.</summary>
    public static PopOutcome FromEngine(Virtqueue queue)
    {
        try
        {
            return queue.TryPop(out DescriptorChain chain) ? Copy(chain) : Empty();
        }
        catch (Exception e)
        {
            return FromException(e);
        }
    }

    /// <summary>Pops once through a ring view the caller holds across pops and completions.</summary>
    public static PopOutcome FromRing(VirtqueueRing ring)
    {
        try
        {
            return ring.TryPop(out DescriptorChain chain) ? Copy(chain) : Empty();
        }
        catch (Exception e)
        {
            return FromException(e);
        }
    }

    private static PopOutcome Copy(DescriptorChain chain) => new(PopKind.Chain)
    {
        Head = chain.Head,
        Buffers = chain.Buffers.ToArray(),
        ReadableCount = chain.ReadableCount,
        WritableCount = chain.WritableCount,
        WritableBytes = chain.WritableBytes,
        SliceLengths = (chain.Readable.Length, chain.Writable.Length),
    };

    // Test code only: the point is to report, not to hide, anything that is not a guest fault.
    private static PopOutcome FromException(Exception e) =>
        e is GuestFaultException fault ? Faulted(fault.Fault) : new(PopKind.Unexpected) { Exception = e };

    /// <summary>A canonical text form: equal outcomes print equally.</summary>
    public override string ToString()
    {
        switch (Kind)
        {
            case PopKind.Empty:
                return "empty";
            case PopKind.Fault:
                return $"fault {Fault}";
            case PopKind.Unexpected:
                return $"unexpected {Exception}";
        }

        var sb = new StringBuilder($"chain head={Head} readable={ReadableCount} writable={WritableCount}:");
        foreach (GuestBuffer b in Buffers)
        {
            sb.Append($" 0x{b.Address:x}+0x{b.Length:x}");
        }

        return sb.ToString();
    }
}
