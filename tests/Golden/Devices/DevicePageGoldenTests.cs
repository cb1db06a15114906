using LguestSim.Backends.Simulated.HostSide;
using LguestSim.Backends.Simulated.Transcript;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Devices;

/// <summary>
/// The device page of spec §3.6 (<c>--tunnet=… --block=disk.img 64 vmlinux</c>), built by the
/// real device set-up code, pinned byte for byte.
/// </summary>
public sealed class DevicePageGoldenTests
{
    private static readonly byte[] Mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    private const long DiskBytes = 10 * 1024 * 1024 + 300; // 20480 sectors; the partial one is dropped

    private static DevicePage Build()
    {
        const ulong mem = 64UL << 20;
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(mem), mem);
        var page = new DevicePage(memory);
        NetDevice.Create(page, new MemoryTap(Mac));
        BlockDevice.Create(page, new SizedStore(DiskBytes));
        ConsoleDevice.Create(page, new MemoryConsolePort(new Transcript()));
        return page;
    }

    [Fact]
    public void DevicePage_NetBlockConsole_MatchesSpecExample()
    {
        DevicePage page = Build();
        byte[] bytes = page.Snapshot();
        string text = $"device page at 0x{page.Address:x}, guest_limit 0x{page.GuestLimit:x}\n" + HexDump.Format(bytes, page.Address);
        GoldenFile.Verify("device-page/spec-3.6.txt", text);
    }

    [Fact]
    public void DevicePage_NetBlockConsole_RecordsSitWhereSpecSays()
    {
        DevicePage page = Build();
        byte[] p = page.Snapshot();

        // Independent of the golden file: the spec's worked example, field by field.
        Assert.Equal(0x4000000UL, page.Address);
        Assert.Equal(0x400B000UL, page.GuestLimit);
        Assert.Equal(new byte[] { 1, 2, 1, 6, 0, 0x80, 0, 1, 0, 0x01, 0x40, 0, 0, 0x80, 0, 2, 0, 0x03, 0x40, 0, 0, 0x20, 0 }, p[..23]);
        Assert.Equal(Mac, p[23..29]);
        Assert.Equal(new byte[] { 2, 1, 1, 0x10, 0, 0x80, 0, 3, 0, 0x05, 0x40, 0, 0, 0x05, 0 }, p[29..44]);
        Assert.Equal(BitConverter.GetBytes((ulong)(DiskBytes / 512)), p[44..52]);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0x7e, 0, 0, 0 }, p[52..60]);
        Assert.Equal(new byte[] { 3, 2, 0, 0, 0, 0x80, 0, 4, 0, 0x07, 0x40, 0, 0, 0x80, 0, 5, 0, 0x09, 0x40, 0, 0 }, p[60..81]);
        Assert.All(p[81..], b => Assert.Equal(0, b));
    }

    /// <summary>A store that only has a length: set-up reads nothing else.</summary>
    private sealed class SizedStore(long length) : IBlockStore
    {
        public long Length => length;

        public long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) => throw new InvalidOperationException();

        public long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) => throw new InvalidOperationException();

        public int FlushData() => throw new InvalidOperationException();
    }
}
