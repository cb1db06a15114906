using System.Runtime.InteropServices;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Emulator.Guest;
using LguestSim.Engine;
using Xunit;

namespace LguestSim.Tests.Host.Remote;

/// <summary>
/// <see cref="RemoteGuestPhysicalMemory"/>: the guest's memory at base + address in another
/// address space, every access bounded by the limit before any copy is made.
/// </summary>
public sealed class RemoteGuestPhysicalMemoryTests
{
    private const ulong Limit = 256;
    private const byte Sentinel = 0xee;

    /// <summary>A pinned array: [0, Limit) is guest memory, the rest sentinel bytes the guest must never touch.</summary>
    private static (byte[] Bytes, RemoteGuestPhysicalMemory Memory) Create()
    {
        byte[] bytes = GC.AllocateArray<byte>((int)Limit + 64, pinned: true);
        bytes.AsSpan((int)Limit).Fill(Sentinel);
        ulong guestBase = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0);
        return (bytes, new RemoteGuestPhysicalMemory(Environment.ProcessId, guestBase, Limit));
    }

    [Fact]
    public void Helpers_RoundTrip_UpToTheLastByte()
    {
        (byte[] bytes, RemoteGuestPhysicalMemory memory) = Create();
        memory.WriteU32(0, 0x11223344);
        memory.WriteU64(Limit - 8, 0x0102030405060708);
        memory.WriteU8(Limit - 9, 0x99);

        Assert.Equal([0x44, 0x33, 0x22, 0x11], bytes[..4]);
        Assert.Equal(0x0102030405060708ul, memory.ReadU64(Limit - 8));
        Assert.Equal(0x01, memory.ReadU8(Limit - 1));
        Assert.Equal(0x99, memory.ReadU8(Limit - 9));
        memory.Clear(0, 2);
        Assert.Equal(0x1122u << 16, memory.ReadU32(0));
        Assert.All(bytes[(int)Limit..], b => Assert.Equal(Sentinel, b));
    }

    [Fact]
    public void AccessesReachingTheLimit_AreRefusedBeforeAnyCopy()
    {
        (byte[] bytes, RemoteGuestPhysicalMemory memory) = Create();
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU8(Limit));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.WriteU8(Limit, 1));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.WriteU16(Limit - 1, 0x0101));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.Write(Limit - 4, new byte[5]));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.Clear(Limit - 8, 9));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.WriteU32(ulong.MaxValue - 1, 1));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.Write(1, new byte[(int)Limit]));

        // Nothing was written: not the part below the limit, not the sentinel above it.
        Assert.All(bytes[..(int)Limit], b => Assert.Equal(0, b));
        Assert.All(bytes[(int)Limit..], b => Assert.Equal(Sentinel, b));
    }

    [Fact]
    public void FailedCopy_IsAGuestMemoryFault_CarryingTheErrno()
    {
        var memory = new RemoteGuestPhysicalMemory(Environment.ProcessId, 0x1000, 0x1000);
        var e = Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU32(0x10));
        Assert.Equal(0x10ul, e.Address);
        Assert.Equal(14, Assert.IsType<LguestHostException>(e.InnerException).Errno);
    }

    [Fact]
    public void BaseAndLimitThatWrapTheAddressSpace_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RemoteGuestPhysicalMemory(Environment.ProcessId, ulong.MaxValue - 0xfff, 0x1000));
        _ = new RemoteGuestPhysicalMemory(Environment.ProcessId, ulong.MaxValue - 0xfff, 0xfff);
    }

    [Fact]
    public void ChildProcess_GuestMemoryInItsStack_RoundTrips()
    {
        using var child = new ChildProcess();
        (ulong stack, _, _) = child.Mapping(p => p == "[stack]");
        var memory = new RemoteGuestPhysicalMemory(child.Id, stack, 4096);
        memory.WriteU64(4088, 0xfeedfacecafebeef);
        Assert.Equal(0xfeedfacecafebeeful, memory.ReadU64(4088));
        Assert.Equal([0xef, 0xbe], memory.ReadBytes(4088, 2));
        Assert.Throws<GuestPhysicalMemoryException>(() => memory.ReadU8(4096));
    }
}
