using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// Helpers over <see cref="IGuestPhysicalMemory"/>: little-endian fixed-size values, zeroing
/// and whole reads, all built on its two copies, and the one bounds rule every implementation shares.
/// </summary>
public static class GuestPhysicalMemoryExtensions
{
    /// <summary>
    /// Bytes <see cref="Clear"/> writes per copy: 64 KiB, so that clearing a block buffer
    /// behind the emulated device is one <c>process_vm_writev</c>, not one per page.
    /// </summary>
    private const int ClearChunk = 64 * 1024;

    private static readonly byte[] s_zeros = new byte[ClearChunk];

    /// <summary>
    /// True when <c>[address, address + length)</c> lies inside <c>[0, limit)</c>; a zero-length
    /// range may start anywhere up to <paramref name="limit"/>. Overflow-proof for any inputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsInside(ulong limit, ulong address, ulong length) =>
        length <= limit && address <= limit - length;

    /// <summary>Throws unless <c>[address, address + length)</c> lies inside <c>[0, limit)</c> (see <see cref="IsInside"/>).</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CheckInside(ulong limit, ulong address, ulong length)
    {
        if (!IsInside(limit, address, length))
        {
            ThrowOutside(limit, address, length);
        }
    }

    /// <summary>Reads one byte.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The address is outside guest memory.</exception>
    public static byte ReadU8(this IGuestPhysicalMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[1];
        memory.Read(address, b);
        return b[0];
    }

    /// <summary>Reads a little-endian u16.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static ushort ReadU16(this IGuestPhysicalMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[2];
        memory.Read(address, b);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    /// <summary>Reads a little-endian u32.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static uint ReadU32(this IGuestPhysicalMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[4];
        memory.Read(address, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>Reads a little-endian u64.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static ulong ReadU64(this IGuestPhysicalMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        memory.Read(address, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    /// <summary>Writes one byte.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The address is outside guest memory.</exception>
    public static void WriteU8(this IGuestPhysicalMemory memory, ulong address, byte value)
    {
        ReadOnlySpan<byte> b = [value];
        memory.Write(address, b);
    }

    /// <summary>Writes a little-endian u16.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static void WriteU16(this IGuestPhysicalMemory memory, ulong address, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        memory.Write(address, b);
    }

    /// <summary>Writes a little-endian u32.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static void WriteU32(this IGuestPhysicalMemory memory, ulong address, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        memory.Write(address, b);
    }

    /// <summary>Writes a little-endian u64.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static void WriteU64(this IGuestPhysicalMemory memory, ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        memory.Write(address, b);
    }

    /// <summary>
    /// Zeroes <c>[address, address + length)</c>, 64 KiB of zeros at a time (no buffer of
    /// <paramref name="length"/> bytes). The whole range is checked first, so a range that
    /// does not fit is refused before anything is written.
    /// </summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static void Clear(this IGuestPhysicalMemory memory, ulong address, ulong length)
    {
        CheckInside(memory.Limit, address, length);
        while (length > 0)
        {
            int n = (int)Math.Min(length, ClearChunk);
            memory.Write(address, s_zeros.AsSpan(0, n));
            address += (ulong)n;
            length -= (ulong)n;
        }
    }

    /// <summary>Copies <paramref name="count"/> guest bytes at <paramref name="address"/> into a new array.</summary>
    /// <exception cref="GuestPhysicalMemoryException">The range is outside guest memory.</exception>
    public static byte[] ReadBytes(this IGuestPhysicalMemory memory, ulong address, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckInside(memory.Limit, address, (ulong)count);
        byte[] bytes = new byte[count];
        memory.Read(address, bytes);
        return bytes;
    }

    [DoesNotReturn]
    private static void ThrowOutside(ulong limit, ulong address, ulong length) =>
        throw new GuestPhysicalMemoryException(address, length, $"guest-physical 0x{address:x} length 0x{length:x} is outside guest memory [0, 0x{limit:x})");
}
