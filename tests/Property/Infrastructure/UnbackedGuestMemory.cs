using LguestSim.Engine.Memory;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>
/// Guest memory of any capacity up to the 2 GiB maximum with no bytes behind it: it records the
/// range each span request reaches the backing with and hands back an empty span. For bounds
/// checks at limits too large to allocate per test case.
/// </summary>
public sealed class UnbackedGuestMemory(ulong capacity, ulong limit) : GuestMemory(capacity, limit)
{
    /// <summary>The offset and length of the last request that got past the bounds check.</summary>
    public (int Offset, int Length)? LastBackingRequest { get; private set; }

    protected override Span<byte> GetSpanCore(int offset, int length)
    {
        LastBackingRequest = (offset, length);
        return Span<byte>.Empty;
    }
}
