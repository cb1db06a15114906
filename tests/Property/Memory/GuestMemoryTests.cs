using System.Numerics;
using FsCheck.Xunit;
using LguestSim.Engine;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Memory;

/// <summary>
/// <see cref="GuestMemory"/>: the one bounds check everything relies on (spec §4.5 step 5 with
/// the 64-bit REC), little-endian accessors, and the limit that grows only upwards.
/// </summary>
public class GuestMemoryTests
{
    private static bool ReferenceIsValid(ulong limit, ulong address, ulong length) =>
        address < limit && new BigInteger(address) + new BigInteger(length) <= new BigInteger(limit);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 1000 * PropertyScale.Factor)]
    public void IsValidRange_AnyValues_MatchesBigIntegerReference(MemoryRange r)
    {
        GuestMemory memory = r.Capacity > MaxBacked ? new UnbackedGuestMemory(r.Capacity, r.Limit) : new ManagedGuestMemory(r.Capacity, r.Limit);
        Assert.Equal(ReferenceIsValid(r.Limit, r.Address, r.Length), memory.IsValidRange(r.Address, r.Length));
    }

    /// <summary>Memories above this size are not allocated: <see cref="UnbackedGuestMemory"/> stands in.</summary>
    private const ulong MaxBacked = 1 << 20;

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 500 * PropertyScale.Factor)]
    public void GetSpan_AnyValues_ReturnsExactRangeOrFaultsOutOfBounds(MemoryRange r)
    {
        if (r.Capacity > MaxBacked)
        {
            // Up to 2 GiB: the check passes exactly the valid ranges to the backing, unchanged.
            var unbacked = new UnbackedGuestMemory(r.Capacity, r.Limit);
            if (ReferenceIsValid(r.Limit, r.Address, r.Length))
            {
                unbacked.GetSpan(r.Address, r.Length);
                Assert.Equal(((int)r.Address, (int)r.Length), unbacked.LastBackingRequest);
            }
            else
            {
                Assert.Equal(GuestFault.BufferOutOfBounds, Assert.Throws<GuestFaultException>(() => unbacked.GetSpan(r.Address, r.Length)).Fault);
                Assert.Null(unbacked.LastBackingRequest);
            }

            return;
        }

        var memory = new RecordingGuestMemory(r.Capacity, r.Limit);
        if (!ReferenceIsValid(r.Limit, r.Address, r.Length))
        {
            var e = Assert.Throws<GuestFaultException>(() => memory.GetSpan(r.Address, r.Length));
            Assert.Equal(GuestFault.BufferOutOfBounds, e.Fault);
        }
        else
        {
            Span<byte> span = memory.GetSpan(r.Address, r.Length);
            Assert.Equal((int)r.Length, span.Length);
            span.Fill(0x5A);
            Assert.All(memory.Bytes[(int)r.Address..(int)(r.Address + r.Length)], b => Assert.Equal(0x5A, b));
            Assert.Equal((int)r.Length, memory.Bytes.Count(b => b == 0x5A));
        }

        Assert.Empty(memory.Violations);
    }

    [Theory]
    [InlineData(0x1000UL, 0UL, 0x1000UL, true)]
    [InlineData(0x1000UL, 0UL, 0x1001UL, false)]
    [InlineData(0x1000UL, 0xFFFUL, 1UL, true)]
    [InlineData(0x1000UL, 0xFFFUL, 2UL, false)]
    [InlineData(0x1000UL, 0x1000UL, 0UL, false)]
    [InlineData(0x1000UL, 0x10UL, ulong.MaxValue, false)]
    [InlineData(0x1000UL, 0x10UL, ulong.MaxValue - 0xF, false)] // address + length wraps to exactly 0
    [InlineData(0x1000UL, ulong.MaxValue, 2UL, false)] // address + length wraps to 1
    [InlineData(0x1000UL, 0x1_0000_0010UL, 0x10UL, false)] // low 32 bits are inside
    [InlineData(0UL, 0UL, 0UL, false)]
    public void IsValidRange_Examples(ulong limit, ulong address, ulong length, bool valid) =>
        Assert.Equal(valid, new ManagedGuestMemory(limit, limit).IsValidRange(address, length));

    [Fact]
    public void Accessors_AreLittleEndian()
    {
        var memory = new RecordingGuestMemory(64);
        memory.WriteU16(1, 0x1122);
        memory.WriteU32(3, 0x33445566);
        memory.WriteU64(7, 0x778899AABBCCDDEE);
        memory.WriteU8(15, 0xFF);
        Assert.Equal("00" + "2211" + "66554433" + "EEDDCCBBAA998877" + "FF", Convert.ToHexString(memory.Bytes, 0, 16));

        Convert.FromHexString("0102030405060708").CopyTo(memory.Bytes, 32);
        Assert.Equal(0x01, memory.ReadU8(32));
        Assert.Equal(0x0201, memory.ReadU16(32));
        Assert.Equal(0x04030201u, memory.ReadU32(32));
        Assert.Equal(0x0807060504030201UL, memory.ReadU64(32));
        Assert.Equal(0x0504U, memory.ReadU16(35));
        Assert.Empty(memory.Violations);
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void Accessors_AnyValue_StoreBytesLowFirst(ulong value, byte offset)
    {
        var memory = new RecordingGuestMemory(512);
        ulong a = offset;
        memory.WriteU64(a, value);
        memory.WriteU32(a + 8, (uint)value);
        memory.WriteU16(a + 12, (ushort)value);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal((byte)(value >> (8 * i)), memory.Bytes[(int)a + i]);
        }

        Assert.Equal(Convert.ToHexString(memory.Bytes, (int)a, 4), Convert.ToHexString(memory.Bytes, (int)a + 8, 4));
        Assert.Equal(Convert.ToHexString(memory.Bytes, (int)a, 2), Convert.ToHexString(memory.Bytes, (int)a + 12, 2));
        Assert.Equal(value, memory.ReadU64(a));
        Assert.Equal((uint)value, memory.ReadU32(a + 8));
        Assert.Equal((ushort)value, memory.ReadU16(a + 12));
    }

    [Fact]
    public void Accessors_StraddlingLimit_FaultOutOfBounds()
    {
        var memory = new RecordingGuestMemory(0x2000, 0x1000);
        memory.WriteU64(0x1000 - 8, 1);
        memory.ReadU32(0x1000 - 4);
        Action[] straddling =
        [
            () => memory.ReadU8(0x1000),
            () => memory.ReadU16(0xFFF),
            () => memory.ReadU32(0xFFD),
            () => memory.ReadU64(0xFF9),
            () => memory.WriteU8(0x1000, 1),
            () => memory.WriteU16(0xFFF, 1),
            () => memory.WriteU32(0xFFE, 1),
            () => memory.WriteU64(0xFFC, 1),
            () => memory.Read(0xF00, new byte[0x101]),
            () => memory.Write(0xF00, new byte[0x101]),
            () => memory.Clear(0, 0x1001),
            () => memory.GetSpan(ulong.MaxValue, 1),
        ];

        foreach (Action access in straddling)
        {
            Assert.Equal(GuestFault.BufferOutOfBounds, Assert.Throws<GuestFaultException>(access).Fault);
        }

        Assert.All(memory.Bytes[0x1000..], b => Assert.Equal(0, b));
        Assert.Empty(memory.Violations);
    }

    [Fact]
    public void GrowLimit_OnlyUpwardsAndWithinCapacity()
    {
        var memory = new ManagedGuestMemory(0x3000, 0x1000);
        Assert.False(memory.IsValidRange(0x1000, 1));
        memory.GrowLimit(0x2000);
        Assert.True(memory.IsValidRange(0x1FFF, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GrowLimit(0x1FFF));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GrowLimit(0x3001));
        memory.GrowLimit(0x3000);
        Assert.Equal(0x3000UL, memory.Limit);
        Assert.Equal(0x3000UL, memory.Capacity);
    }

    [Fact]
    public void Constructor_RejectsLimitAboveCapacityAndCapacityOver2GiB()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedGuestMemory(0x1000, 0x1001));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedGuestMemory((ulong)int.MaxValue + 1, 0));
    }

    /// <summary>
    /// The base class's own checks, for backings other than the managed array (the mmap'd
    /// memory): 2 GiB exactly is the most, a limit above the capacity is refused.
    /// </summary>
    [Fact]
    public void Constructor_AnyBacking_CapacityUpTo2GiBAndLimitWithinIt()
    {
        var most = new UnbackedGuestMemory(int.MaxValue, int.MaxValue);
        Assert.Equal((ulong)int.MaxValue, most.Capacity);
        Assert.Equal((ulong)int.MaxValue, most.Limit);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new UnbackedGuestMemory((ulong)int.MaxValue + 1, 0));
        Assert.Equal("capacity", e.ParamName);
        Assert.StartsWith("guest memory is limited to 2 GiB", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("guest memory is limited to 2 GiB", Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedGuestMemory((ulong)int.MaxValue + 1, 0)).Message, StringComparison.Ordinal);

        Assert.Equal("limit", Assert.Throws<ArgumentOutOfRangeException>(() => new UnbackedGuestMemory(0x1000, 0x1001)).ParamName);
        Assert.Equal(0x1000UL, new UnbackedGuestMemory(0x1000, 0x1000).Limit);
    }

    /// <summary>
    /// Managed memory is refused with an argument error from just past the largest array the
    /// runtime makes, where allocating would otherwise fail with an out-of-memory error.
    /// </summary>
    [Fact]
    public void ManagedMemory_PastTheLargestArray_IsRefusedBeforeAllocating()
    {
        foreach (ulong capacity in new ulong[] { (ulong)Array.MaxLength + 1, int.MaxValue, 1UL << 32 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ManagedGuestMemory(capacity, 0));
            Assert.Equal("capacity", e.ParamName);
        }
    }

    /// <summary>
    /// The fault's detail names the range that was refused, in hex, for the transcript and the
    /// user; the fault code is checked apart from it, so wording and meaning fail separately.
    /// </summary>
    [Fact]
    public void GetSpan_OutOfBounds_DetailNamesTheRange()
    {
        var memory = new ManagedGuestMemory(0x1000);
        var e = Assert.Throws<GuestFaultException>(() => memory.GetSpan(0xFF0, 0x20));
        Assert.Equal(GuestFault.BufferOutOfBounds, e.Fault);
        Assert.Equal("address 0xff0 length 0x20 is outside guest memory", e.Detail);
    }

    /// <summary>A limit may be "raised" to itself; the refusal names the argument.</summary>
    [Fact]
    public void GrowLimit_ToTheSameLimit_IsAllowed_RefusalNamesTheArgument()
    {
        var memory = new ManagedGuestMemory(0x3000, 0x1000);
        memory.GrowLimit(0x1000);
        Assert.Equal(0x1000UL, memory.Limit);
        Assert.Equal("newLimit", Assert.Throws<ArgumentOutOfRangeException>(() => memory.GrowLimit(0xFFF)).ParamName);
        Assert.Equal(0x1000UL, memory.Limit);
    }

    /// <summary>The test double itself must be able to fail: a raw access past the limit is caught.</summary>
    [Fact]
    public void RecordingGuestMemory_AccessOutsideLimit_IsRecordedAndThrown()
    {
        var memory = new RecordingGuestMemory(0x2000, 0x1000);
        Assert.Equal(4, memory.TouchRaw(0xFFC, 4).Length);
        Assert.Empty(memory.Violations);
        Assert.Throws<OutOfLimitAccessException>(() => memory.TouchRaw(0xFFD, 4));
        Assert.Throws<OutOfLimitAccessException>(() => memory.TouchRaw(0x1000, 0));
        Assert.Equal(2, memory.Violations.Count);
    }
}
