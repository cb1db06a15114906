namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The simulated guest's allocator for buffers it hands to devices: first fit over a range
/// of guest RAM, 16-byte aligned, so that freed buffers are reused deterministically.
/// </summary>
public sealed class GuestHeap
{
    private const ulong Alignment = 16;
    private readonly SortedDictionary<ulong, ulong> _free = new();
    private readonly Dictionary<ulong, ulong> _used = new();

    /// <summary>Manages <c>[start, end)</c> of guest RAM.</summary>
    public GuestHeap(ulong start, ulong end)
    {
        start = AlignUp(start);
        if (end <= start)
        {
            throw new ArgumentException("empty guest heap");
        }

        _free.Add(start, end - start);
    }

    /// <summary>Allocates <paramref name="length"/> bytes (at least 1) and returns the guest-physical address.</summary>
    /// <exception cref="GuestHeapExhaustedException">The heap is exhausted.</exception>
    public ulong Allocate(ulong length)
    {
        ulong size = AlignUp(Math.Max(length, 1));
        foreach ((ulong start, ulong free) in _free)
        {
            if (free < size)
            {
                continue;
            }

            _free.Remove(start);
            if (free > size)
            {
                _free.Add(start + size, free - size);
            }

            _used.Add(start, size);
            return start;
        }

        throw new GuestHeapExhaustedException(length);
    }

    /// <summary>Returns a block from <see cref="Allocate"/>.</summary>
    public void Free(ulong address)
    {
        if (!_used.Remove(address, out ulong size))
        {
            throw new InvalidOperationException($"0x{address:x} was not allocated");
        }

        _free.Add(address, size);

        // Merge with the following and the preceding free block.
        if (_free.TryGetValue(address + size, out ulong after))
        {
            _free.Remove(address + size);
            _free[address] = size + after;
        }

        foreach ((ulong start, ulong len) in _free)
        {
            if (start + len == address)
            {
                _free[start] = len + _free[address];
                _free.Remove(address);
                break;
            }

            if (start >= address)
            {
                break;
            }
        }
    }

    private static ulong AlignUp(ulong v) => (v + Alignment - 1) & ~(Alignment - 1);
}

/// <summary>
/// The simulated guest's heap has no room for a buffer: a limit of the scenario (its memory
/// size against the requests it makes), reported as a scenario check failure.
/// </summary>
public sealed class GuestHeapExhaustedException : Exception
{
    /// <summary>Creates the error for a request of <paramref name="length"/> bytes.</summary>
    public GuestHeapExhaustedException(ulong length)
        : base($"the guest heap has no room for {length} more bytes (give the scenario more memory, or make smaller requests)")
    {
    }
}
