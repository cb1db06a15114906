using System.Numerics;
using FsCheck.Xunit;
using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Block;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Memory;

/// <summary>
/// <see cref="IGuestPhysicalMemory"/>, the simulated guest's copy-only view of its memory:
/// the shared bounds rule, the helpers, the in-process implementation, and a guest that
/// reaches past its limit dying as a guest.
/// </summary>
public class GuestPhysicalMemoryTests
{
    private const ulong Limit = 0x3000;

    private static (RecordingGuestMemory Backing, LocalGuestPhysicalMemory Guest) Create()
    {
        // Capacity above the limit: an access that slipped past the guest's check would
        // reach real backing bytes, and RecordingGuestMemory would record it.
        var backing = new RecordingGuestMemory(Limit + 0x1000, Limit);
        return (backing, new LocalGuestPhysicalMemory(backing));
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 1000 * PropertyScale.Factor)]
    public void IsInside_AnyValues_MatchesBigIntegerReference(MemoryRange r)
    {
        bool reference = new BigInteger(r.Address) + new BigInteger(r.Length) <= new BigInteger(r.Limit);
        Assert.Equal(reference, GuestPhysicalMemoryExtensions.IsInside(r.Limit, r.Address, r.Length));
    }

    [Fact]
    public void Helpers_RoundTripLittleEndian()
    {
        (RecordingGuestMemory backing, LocalGuestPhysicalMemory memory) = Create();
        memory.WriteU8(0x10, 0xab);
        memory.WriteU16(0x20, 0x1234);
        memory.WriteU32(0x30, 0xdeadbeef);
        memory.WriteU64(0x40, 0x0102030405060708);

        Assert.Equal(0xab, memory.ReadU8(0x10));
        Assert.Equal(0x1234, memory.ReadU16(0x20));
        Assert.Equal(0xdeadbeefu, memory.ReadU32(0x30));
        Assert.Equal(0x0102030405060708ul, memory.ReadU64(0x40));
        Assert.Equal([0x34, 0x12], backing.Bytes.AsSpan(0x20, 2).ToArray());
        Assert.Equal([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01], memory.ReadBytes(0x40, 8));
        Assert.Empty(backing.Violations);
    }

    [Fact]
    public void LastByteBelowLimit_IsReachable_TheLimitIsNot()
    {
        (RecordingGuestMemory backing, LocalGuestPhysicalMemory memory) = Create();
        memory.WriteU8(Limit - 1, 0x5a);
        Assert.Equal(0x5a, memory.ReadU8(Limit - 1));
        memory.WriteU32(Limit - 4, 7);

        var e = Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU8(Limit));
        Assert.Equal(Limit, e.Address);
        Assert.Equal(1ul, e.Length);
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.WriteU16(Limit - 1, 0xffff));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU64(ulong.MaxValue - 3));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadBytes(Limit - 8, 9));

        // Zero-length copies up to the limit do nothing; past it they are refused too.
        memory.Write(Limit, ReadOnlySpan<byte>.Empty);
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.Write(Limit + 1, ReadOnlySpan<byte>.Empty));

        Assert.Equal(0, backing.Bytes[Limit]);
        Assert.Empty(backing.Violations);
    }

    [Fact]
    public void Clear_ZeroesExactlyTheRange_AcrossChunks_AndRefusesOverhangBeforeWriting()
    {
        (RecordingGuestMemory backing, LocalGuestPhysicalMemory memory) = Create();
        byte[] fill = Enumerable.Repeat((byte)0xaa, (int)Limit).ToArray();
        memory.Write(0, fill);

        memory.Clear(3, 0x2000 + 5);
        Assert.Equal(0xaa, backing.Bytes[2]);
        Assert.True(backing.Bytes.AsSpan(3, 0x2005).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0xaa, backing.Bytes[3 + 0x2005]);

        // A range that overhangs the limit is refused whole: nothing below the limit is zeroed.
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.Clear(Limit - 0x800, 0x801));
        Assert.Equal(0xaa, backing.Bytes[Limit - 0x800]);
        Assert.Empty(backing.Violations);
    }

    [Fact]
    public void Limit_FollowsTheEngineMemory()
    {
        var backing = new ManagedGuestMemory(0x4000, 0x1000);
        var memory = new LocalGuestPhysicalMemory(backing);
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU8(0x1000));
        backing.GrowLimit(0x2000);
        Assert.Equal(0x2000ul, memory.Limit);
        Assert.Equal(0, memory.ReadU8(0x1fff));
    }

    [Fact]
    public void GuestReachingPastItsLimit_DiesAsASimulatedGuest()
    {
        var store = new MemoryBlockStore(new byte[4096]);
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            IGuestPhysicalMemory memory = guest.Context.Memory;
            memory.ReadU8(memory.Limit);
        });

        Assert.StartsWith("CRASH: simulated guest failed: GuestPhysicalMemoryException: guest-physical 0x", result.Exit.Message);
    }
}
