using LguestSim.Engine.Memory;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// <see cref="IGuestPhysicalMemory"/> over the Launcher's <see cref="GuestMemory"/> in the same
/// process: the in-process simulation, where guest and Launcher share one address space.
/// </summary>
/// <remarks>
/// <see cref="Limit"/> follows the memory's limit, which the device-page allocator raises
/// during set-up, before any guest runs. Every access is checked against it here, with the
/// guest's own exception, before the memory's own check can see it.
/// </remarks>
public sealed class LocalGuestPhysicalMemory : IGuestPhysicalMemory
{
    private readonly GuestMemory _memory;

    /// <summary>Wraps <paramref name="memory"/>.</summary>
    public LocalGuestPhysicalMemory(GuestMemory memory)
    {
        _memory = memory;
    }

    /// <inheritdoc/>
    public ulong Limit => _memory.Limit;

    /// <inheritdoc/>
    public void Read(ulong address, Span<byte> destination)
    {
        GuestPhysicalMemoryExtensions.CheckInside(_memory.Limit, address, (ulong)destination.Length);
        if (destination.Length != 0)
        {
            _memory.Read(address, destination);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        GuestPhysicalMemoryExtensions.CheckInside(_memory.Limit, address, (ulong)source.Length);
        if (source.Length != 0)
        {
            _memory.Write(address, source);
        }
    }
}
