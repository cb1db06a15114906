using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace LguestSim.Engine.Memory;

/// <summary>
/// Guest-physical memory, <c>[0, Limit)</c>, seen through one bounds check.
/// </summary>
/// <remarks>
/// <para>
/// In lguest.c guest physical P is simply <c>guest_base + P</c> and every guest-supplied
/// address goes through <c>check_pointer()</c> / <c>_check_pointer()</c>. Here every
/// guest-supplied range goes through <see cref="IsValidRange"/>, written so that no sum can
/// overflow: the start must lie below <see cref="Limit"/> and the length must fit in what
/// remains. The queues' fast path checks a ring once, when the queue is made, and then slices
/// it and <c>[0, Limit)</c> with the span's own bounds check (<see cref="GetValidatedSpan"/>).
/// </para>
/// <para>
/// Decision (spec §4.5, §10 item 3): a buffer that ends <em>exactly</em> at guest_limit is
/// accepted. The original's strict <c>a + l &lt; guest_limit</c> rejected the last byte of
/// guest memory for no reason, and its 32-bit sum could wrap and let a huge length through.
/// A zero-length buffer must still start below guest_limit, as in the original.
/// </para>
/// <para>
/// <see cref="Capacity"/> is the backing size (<c>mem + 256 pages</c>); <see cref="Limit"/>
/// starts lower and grows as device pages are allocated, never past the capacity. Only
/// the device-page allocator grows it, during setup, before any guest runs.
/// </para>
/// </remarks>
public abstract class GuestMemory
{
    private readonly byte[]? _array;
    private ulong _limit;

    /// <summary>Creates the view over a managed array (the whole array is the capacity).</summary>
    /// <remarks>
    /// The array is kept here so that the hot path reaches it without a virtual call: a queue
    /// takes two spans per pass over its ring (the ring, and a window on <c>[0, Limit)</c> its
    /// chains' buffers are sliced from). Other backings go through <see cref="GetSpanCore"/>.
    /// </remarks>
    private protected GuestMemory(byte[] array, ulong limit)
        : this((ulong)array.LongLength, limit)
    {
        _array = array;
    }

    /// <summary>Creates the view with its backing size and starting limit.</summary>
    protected GuestMemory(ulong capacity, ulong limit)
    {
        if (capacity > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "guest memory is limited to 2 GiB");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, capacity);
        Capacity = capacity;
        _limit = limit;
    }

    /// <summary>Bytes of backing store: RAM plus the 256 reserved device pages.</summary>
    public ulong Capacity { get; }

    /// <summary><c>guest_limit</c>: the top of everything the guest may touch.</summary>
    public ulong Limit => _limit;

    /// <summary>Raises <see cref="Limit"/>; used by the device-page allocator only.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The new limit is lower, or past the capacity.</exception>
    public void GrowLimit(ulong newLimit)
    {
        if (newLimit < _limit || newLimit > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(newLimit));
        }

        _limit = newLimit;
    }

    /// <summary>
    /// True when <c>[address, address + length)</c> lies inside guest memory and
    /// <paramref name="address"/> is below the limit. Overflow-proof for any inputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsValidRange(ulong address, ulong length) =>
        address < _limit && length <= _limit - address;

    /// <summary>A span over <c>[address, address + length)</c> after the bounds check.</summary>
    /// <exception cref="GuestFaultException"><see cref="GuestFault.BufferOutOfBounds"/> when the range is outside guest memory.</exception>
    public Span<byte> GetSpan(ulong address, ulong length)
    {
        if (!IsValidRange(address, length))
        {
            ThrowOutOfBounds(address, length);
        }

        return _array is { } array ? new Span<byte>(array, (int)address, (int)length) : GetSpanCore((int)address, (int)length);
    }

    /// <summary>
    /// The span for a range the caller already knows to be valid: a ring proven addressable
    /// when its queue was made, or <c>[0, Limit)</c> itself. Checked again cheaply by the span
    /// itself, never unchecked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<byte> GetValidatedSpan(ulong address, uint length) =>
        _array is { } array ? new Span<byte>(array, (int)address, (int)length) : GetSpanCore((int)address, (int)length);

    /// <summary>Reads one byte.</summary>
    /// <exception cref="GuestFaultException">The address is outside guest memory.</exception>
    public byte ReadU8(ulong address) => GetSpan(address, 1)[0];

    /// <summary>Reads a little-endian u16.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public ushort ReadU16(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(GetSpan(address, 2));

    /// <summary>Reads a little-endian u32.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public uint ReadU32(ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(GetSpan(address, 4));

    /// <summary>Reads a little-endian u64.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public ulong ReadU64(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(GetSpan(address, 8));

    /// <summary>Writes one byte.</summary>
    /// <exception cref="GuestFaultException">The address is outside guest memory.</exception>
    public void WriteU8(ulong address, byte value) => GetSpan(address, 1)[0] = value;

    /// <summary>Writes a little-endian u16.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void WriteU16(ulong address, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(address, 2), value);

    /// <summary>Writes a little-endian u32.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void WriteU32(ulong address, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(address, 4), value);

    /// <summary>Writes a little-endian u64.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void WriteU64(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(GetSpan(address, 8), value);

    /// <summary>Copies guest bytes at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void Read(ulong address, Span<byte> destination) => GetSpan(address, (ulong)destination.Length).CopyTo(destination);

    /// <summary>Copies <paramref name="source"/> into guest memory at <paramref name="address"/>.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void Write(ulong address, ReadOnlySpan<byte> source) => source.CopyTo(GetSpan(address, (ulong)source.Length));

    /// <summary>Zeroes <c>[address, address + length)</c>.</summary>
    /// <exception cref="GuestFaultException">The range is outside guest memory.</exception>
    public void Clear(ulong address, ulong length) => GetSpan(address, length).Clear();

    /// <summary>The backing bytes at an offset already proven to lie below <see cref="Capacity"/>.</summary>
    protected abstract Span<byte> GetSpanCore(int offset, int length);

    [DoesNotReturn]
    private static void ThrowOutOfBounds(ulong address, ulong length) =>
        throw new GuestFaultException(GuestFault.BufferOutOfBounds, $"address 0x{address:x} length 0x{length:x} is outside guest memory");
}
