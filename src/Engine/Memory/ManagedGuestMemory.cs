namespace LguestSim.Engine.Memory;

/// <summary>
/// Guest memory backed by a managed, zero-filled array: simulation and tests. Real runs use
/// the mmap'd implementation in LguestSim.Host.
/// </summary>
public sealed class ManagedGuestMemory : GuestMemory
{
    private readonly byte[] _bytes;

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
        _bytes = bytes;
    }

    /// <summary>Creates memory with the whole capacity accessible.</summary>
    public ManagedGuestMemory(ulong size)
        : this(size, size)
    {
    }

    private static byte[] Allocate(ulong capacity)
    {
        if (capacity > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "guest memory is limited to 2 GiB");
        }

        return new byte[capacity];
    }

    /// <inheritdoc/>
    protected override Span<byte> GetSpanCore(int offset, int length) => _bytes.AsSpan(offset, length);
}
