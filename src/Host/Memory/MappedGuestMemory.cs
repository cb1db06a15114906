using System.Runtime.InteropServices;
using LguestSim.Engine;
using LguestSim.Engine.Memory;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Memory;

/// <summary>
/// Guest memory for real runs: RAM plus the 256 device pages in one anonymous, shared,
/// lazily zeroed mapping wholly below 4 GiB, whose address is the <c>base</c> of
/// <c>LHREQ_INITIALIZE</c>.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c mapped <c>/dev/zero</c> privately (spec §1.2). Here the mapping is
/// <c>MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE</c>: lg.ko does not mind, pages still cost
/// nothing until touched (a 1 GiB guest that has not run is a few pages), and a device model in
/// another process (the emulated /dev/lguest) can reach the very same pages through
/// <c>/proc/PID/map_files</c> or <c>process_vm_readv</c> instead of a copy.
/// </para>
/// <para>
/// The ABI's <c>base</c> is one 32-bit word, so the whole mapping must end at or below 4 GiB.
/// On x86-64 <c>MAP_32BIT</c> is tried first (the kernel then places it in the low 2 GiB, in
/// practice between 1 and 2 GiB); if that fails or is too small a window, fixed hints from
/// 256 MiB upwards are tried with <c>MAP_FIXED_NOREPLACE</c>, which never replaces what is
/// already mapped. The result is checked either way.
/// </para>
/// <para>
/// Lifetime: the spans handed out point into the mapping. Dispose it only after everything
/// that reads guest memory has stopped (the block workers, the channel, the Waker); a span
/// asked for after that throws <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
public sealed class MappedGuestMemory : GuestMemory, IDisposable
{
    private const ulong FourGiB = 1UL << 32;
    private const ulong HintStep = 256UL << 20;

    private readonly MappedRegionHandle _region;
    private readonly ulong _base;

    private MappedGuestMemory(MappedRegionHandle region, ulong capacity, ulong limit)
        : base(capacity, limit)
    {
        _region = region;
        _base = region.Address;
    }

    /// <summary>The host address of guest-physical 0: <c>guest_base</c>, below 4 GiB with the whole mapping.</summary>
    public ulong BaseAddress => _base;

    /// <summary>Maps <paramref name="capacity"/> zeroed bytes below 4 GiB, <paramref name="limit"/> of them accessible.</summary>
    /// <exception cref="LguestHostException">No place below 4 GiB could be mapped.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is 0 or over 2 GiB, or the limit is past it.</exception>
    public static MappedGuestMemory Create(ulong capacity, ulong limit)
    {
        ArgumentOutOfRangeException.ThrowIfZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, (ulong)int.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, capacity);

        MappedRegionHandle region = MapBelow4GiB(capacity);
        try
        {
            return new MappedGuestMemory(region, capacity, limit);
        }
        catch
        {
            region.Dispose();
            throw;
        }
    }

    /// <summary>Unmaps the memory.</summary>
    public void Dispose() => _region.Dispose();

    /// <inheritdoc/>
    protected override unsafe Span<byte> GetSpanCore(int offset, int length)
    {
        ObjectDisposedException.ThrowIf(_region.IsClosed, this);

        // SAFETY: the base class proved [offset, offset + length) lies below Capacity (GetSpan; or,
        // for GetValidatedSpan, the queue proved its ring when made, or it is [0, Limit)), which is
        // the mapping's length; the mapping stays until Dispose, which callers do only after
        // every user of guest memory has stopped (see the remarks), and a span asked for after
        // it is refused above.
        return new Span<byte>((byte*)_base + offset, length);
    }

    private static MappedRegionHandle MapBelow4GiB(ulong capacity)
    {
        int lastErrno = 0;
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            if (TryMap(capacity, 0, low32: true, fixedNoReplace: false, ref lastErrno) is { } low)
            {
                return low;
            }
        }

        for (ulong hint = HintStep; hint + capacity <= FourGiB; hint += HintStep)
        {
            if (TryMap(capacity, hint, low32: false, fixedNoReplace: true, ref lastErrno) is { } placed)
            {
                return placed;
            }
        }

        throw new LguestHostException($"cannot map {capacity >> 20} MiB of guest memory below 4 GiB (LHREQ_INITIALIZE takes a 32-bit base)", lastErrno);
    }

    /// <summary>One attempt; a mapping that does not end by 4 GiB is given back.</summary>
    private static MappedRegionHandle? TryMap(ulong capacity, ulong hint, bool low32, bool fixedNoReplace, ref int lastErrno)
    {
        int rc = Sys.MapSharedAnonymous(capacity, hint, low32, fixedNoReplace, out MappedRegionHandle region);
        if (rc < 0)
        {
            lastErrno = -rc;
            return null;
        }

        if (region.Address + capacity > FourGiB)
        {
            // A kernel without MAP_FIXED_NOREPLACE takes the address as a mere hint.
            region.Dispose();
            return null;
        }

        return region;
    }
}
