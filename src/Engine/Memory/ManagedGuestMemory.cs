using System.Diagnostics;

namespace LguestSim.Engine.Memory;

/// <summary>
/// Guest memory backed by a managed, zero-filled array: simulation and tests. Real runs use
/// the mmap'd implementation in LguestSim.Host.
/// </summary>
/// <remarks>
/// The base keeps the array and reaches it directly, with no virtual call, so
/// <see cref="GetSpanCore"/> is never called here.
/// </remarks>
public sealed class ManagedGuestMemory : GuestMemory
{
    /// <summary>Allocates <paramref name="capacity"/> zeroed bytes with <paramref name="limit"/> accessible.</summary>
    public ManagedGuestMemory(ulong capacity, ulong limit)
        : this(Allocate(capacity), limit)
    {
    }

    /// <summary>
    /// Memory over the caller's array, as it is (not cleared): the fuzzer builds machine after
    /// machine over one backing instead of allocating a megabyte each time, and restores its
    /// bytes itself. The whole array is the capacity.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is past the array.</exception>
    public ManagedGuestMemory(byte[] bytes, ulong limit)
        : base(bytes, limit)
    {
    }

    /// <summary>Creates memory with the whole capacity accessible.</summary>
    public ManagedGuestMemory(ulong size)
        : this(size, size)
    {
    }

    /// <remarks>
    /// The bound is the largest array the runtime makes (<see cref="Array.MaxLength"/>, a little
    /// under 2 GiB), so that a capacity past it is refused here with a clear error rather than
    /// by the allocator with an out-of-memory one.
    /// </remarks>
    private static byte[] Allocate(ulong capacity)
    {
        if (capacity > (ulong)Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "guest memory is limited to 2 GiB");
        }

        return new byte[capacity];
    }

    /// <inheritdoc/>
    protected override Span<byte> GetSpanCore(int offset, int length) => throw new UnreachableException();
}
