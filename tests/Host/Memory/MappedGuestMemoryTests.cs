using System.Globalization;
using LguestSim.Engine;
using LguestSim.Engine.Devices;
using LguestSim.Host.Memory;
using Xunit;

namespace LguestSim.Tests.Host.Memory;

/// <summary>
/// The mmap'd guest memory of real runs: lazily zero, shared, wholly below 4 GiB, and checked
/// exactly like the managed memory of simulation.
/// </summary>
public sealed class MappedGuestMemoryTests
{
    private const ulong OneGiB = 1UL << 30;

    [Fact]
    public void Create_OneGiBGuest_CostsAlmostNothingUntilTouched()
    {
        ulong capacity = DevicePage.CapacityFor(OneGiB);
        long before = ResidentKiB();
        using MappedGuestMemory memory = MappedGuestMemory.Create(capacity, OneGiB);
        long after = ResidentKiB();

        Assert.True(after - before < 4096, $"VmRSS grew by {after - before} KiB on creating a 1 GiB guest");

        // The mapping's own resident size, from smaps, is what the guest has touched: nothing.
        memory.WriteU32(0, 0x12345678);
        memory.WriteU32(OneGiB - 4, 0x9abcdef0);
        Assert.True(MappingRssKiB(memory.BaseAddress) <= 8, "only the two touched pages are resident");
        Assert.Equal(0x12345678u, memory.ReadU32(0));
        Assert.Equal(0x9abcdef0u, memory.ReadU32(OneGiB - 4));
        Assert.Equal(0u, memory.ReadU32(OneGiB / 2));
    }

    [Fact]
    public void Create_WholeMappingIsBelow4GiB_AndShared()
    {
        ulong capacity = DevicePage.CapacityFor(2046UL << 20);
        using MappedGuestMemory memory = MappedGuestMemory.Create(capacity, capacity);

        Assert.True(memory.BaseAddress != 0);
        Assert.True(memory.BaseAddress + capacity <= 1UL << 32, $"base 0x{memory.BaseAddress:x} + 0x{capacity:x} passes 4 GiB");
        string line = MapsLine(memory.BaseAddress);
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rw-s", fields[1]);
        ulong end = ulong.Parse(fields[0].Split('-')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.Equal(memory.BaseAddress + capacity, end);
    }

    [Theory]
    [InlineData(0UL, 4097UL)]
    [InlineData(4096UL, 1UL)]
    [InlineData(4095UL, 2UL)]
    [InlineData(ulong.MaxValue, 2UL)]
    public void GetSpan_OutsideLimit_FaultsAsManagedMemoryDoes(ulong address, ulong length)
    {
        using MappedGuestMemory memory = MappedGuestMemory.Create(8192, 4096);
        GuestFaultException e = Assert.Throws<GuestFaultException>(() => memory.GetSpan(address, length));
        Assert.Equal(GuestFault.BufferOutOfBounds, e.Fault);
        Assert.Equal(1, memory.GetSpan(4095, 1).Length);
        Assert.Equal(0, memory.GetSpan(4095, 0).Length);
    }

    [Fact]
    public void GrowLimit_OpensTheDevicePages()
    {
        using MappedGuestMemory memory = MappedGuestMemory.Create(8192, 4096);
        Assert.False(memory.IsValidRange(4096, 1));
        memory.GrowLimit(8192);
        memory.WriteU8(8191, 7);
        Assert.Equal(7, memory.ReadU8(8191));
    }

    [Fact]
    public void GetSpan_AfterDispose_Throws()
    {
        MappedGuestMemory memory = MappedGuestMemory.Create(4096, 4096);
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.GetSpan(0, 1));
        Assert.Equal(string.Empty, MapsLineOrEmpty(memory.BaseAddress));
    }

    private static long ResidentKiB()
    {
        string line = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static long MappingRssKiB(ulong address)
    {
        string[] lines = File.ReadAllLines("/proc/self/smaps");
        int start = Array.FindIndex(lines, l => l.StartsWith(address.ToString("x", CultureInfo.InvariantCulture) + "-", StringComparison.Ordinal));
        Assert.True(start >= 0, "mapping not found in smaps");
        string rss = lines.Skip(start + 1).First(l => l.StartsWith("Rss:", StringComparison.Ordinal));
        return long.Parse(rss["Rss:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static string MapsLine(ulong address)
    {
        string line = MapsLineOrEmpty(address);
        Assert.NotEqual(string.Empty, line);
        return line;
    }

    private static string MapsLineOrEmpty(ulong address) =>
        File.ReadAllLines("/proc/self/maps").FirstOrDefault(l => l.StartsWith(address.ToString("x", CultureInfo.InvariantCulture) + "-", StringComparison.Ordinal)) ?? string.Empty;
}
