using LguestSim.Engine.Abi;

namespace LguestSim.Engine.Virtio;

/// <summary>
/// Where the three parts of a split ring of <c>num</c> entries sit, relative to its
/// page-aligned start.
/// </summary>
/// <remarks>
/// Spec §4.2: desc at 0, avail at <c>16*num</c>, used at
/// <c>align_up(16*num + 4 + 2*num, align)</c>; <c>vring_size(num, align) =
/// align_up(16*num + 2*(2+num), align) + 4 + 8*num</c>. Corresponds to the guest's
/// <c>vring_init()</c> / <c>vring_size()</c> of virtio_ring.h.
/// </remarks>
public readonly record struct VringLayout
{
    /// <summary>Lays out a ring of <paramref name="num"/> entries with <paramref name="align"/> for the used ring.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="num"/> is not a power of two in 1..32768, or align is not a power of two.</exception>
    public VringLayout(int num, int align = LguestLayout.PageSize)
    {
        if (num < 1 || num > 32768 || (num & (num - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(num), num, "ring size must be a power of two from 1 to 32768");
        }

        if (align < 1 || (align & (align - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(align), align, "alignment must be a power of two");
        }

        Num = num;
        Align = align;
    }

    /// <summary>Entries in the ring.</summary>
    public int Num { get; }

    /// <summary>Alignment of the used ring.</summary>
    public int Align { get; }

    /// <summary>Offset of the descriptor table (always 0).</summary>
    public int DescOffset => 0;

    /// <summary>Offset of <c>vring_avail</c>.</summary>
    public int AvailOffset => VringDesc.Size * Num;

    /// <summary>Bytes of <c>vring_avail</c>: flags, idx, ring[num].</summary>
    public int AvailSize => VringRingHeader.Size + (2 * Num);

    /// <summary>Offset of <c>vring_used</c>: the end of avail, rounded up to <see cref="Align"/>.</summary>
    public int UsedOffset => AlignUp(AvailOffset + AvailSize, Align);

    /// <summary>Bytes of <c>vring_used</c>: flags, idx, ring[num] of 8-byte elements.</summary>
    public int UsedSize => VringRingHeader.Size + (VringUsedElem.Size * Num);

    /// <summary><c>vring_size(num, align)</c>: total bytes of the ring.</summary>
    public int TotalSize => UsedOffset + UsedSize;

    /// <summary>Pages the ring occupies: <c>ceil(vring_size / 4096)</c>.</summary>
    public int Pages => (TotalSize + LguestLayout.PageSize - 1) / LguestLayout.PageSize;

    private static int AlignUp(int value, int align) => (value + align - 1) & ~(align - 1);
}
