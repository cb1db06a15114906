namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The simulated guest's view of its physical memory, <c>[0, Limit)</c>: it copies bytes in
/// and out at an address and never holds a span over guest memory.
/// </summary>
/// <remarks>
/// <para>
/// This is all a guest running behind an emulated <c>/dev/lguest</c> can have: there the
/// memory belongs to the Launcher, another process, and is reached with
/// <c>process_vm_readv</c>/<c>process_vm_writev</c> at <c>base + address</c>. In the
/// in-process simulation the same interface is served by <see cref="LocalGuestPhysicalMemory"/>,
/// so the one guest runs unchanged in both.
/// </para>
/// <para>
/// A range is inside when <c>address + length &lt;= Limit</c>, computed without overflow; a
/// zero-length access anywhere up to <see cref="Limit"/> does nothing. Anything else, and
/// any failed copy, throws <see cref="GuestPhysicalMemoryException"/>: a bug of the
/// simulated guest, which then dies like a kernel that oopsed.
/// </para>
/// <para>Helpers for fixed-size little-endian values, zeroing and whole reads are in <see cref="GuestPhysicalMemoryExtensions"/>.</para>
/// </remarks>
public interface IGuestPhysicalMemory
{
    /// <summary>Bytes the guest may touch: <c>pfnlimit * 4096</c> (<c>guest_limit</c>).</summary>
    ulong Limit { get; }

    /// <summary>Copies <c>destination.Length</c> guest bytes at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside <c>[0, Limit)</c>, or the copy failed.</exception>
    void Read(ulong address, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> into guest memory at <paramref name="address"/>.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside <c>[0, Limit)</c>, or the copy failed.</exception>
    void Write(ulong address, ReadOnlySpan<byte> source);
}
