using System.Buffers.Binary;
using FsCheck.Xunit;
using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Backends.Simulated.HostSide;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.Memory;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Block;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Tests.Property.Devices;

/// <summary>Device page construction (spec §1.2, §3.2, §3.3, §3.5–§3.7).</summary>
public class DevicePageTests
{
    private const ulong Mem = 64 * 1024;
    private const ulong Page = 4096;

    private static DevicePage NewPage(ulong mem = Mem) => new(new ManagedGuestMemory(DevicePage.CapacityFor(mem), mem));

    [Fact]
    public void DevicePage_Created_IsFirstPageAboveRam()
    {
        DevicePage page = NewPage();
        Assert.Equal(Mem, page.Address);
        Assert.Equal(Mem / Page, page.Address / Page);
        Assert.Equal(Mem + Page, page.GuestLimit);
        Assert.Equal(Mem + (256 * Page), page.GuestMax);
        Assert.Empty(page.Devices);
        Assert.All(page.Snapshot(), b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(4097UL)]
    public void DevicePage_MemNotAPositivePageMultiple_Throws(ulong mem) =>
        Assert.Throws<ArgumentException>(() => new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(mem) + Page, mem)));

    [Fact]
    public void DevicePage_MemoryWithoutRoomForDevicePages_Throws() =>
        Assert.Throws<ArgumentException>(() => new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(Mem) - 1, Mem)));

    /// <summary>
    /// The worked example of spec §3.6, byte for byte (<c>--tunnet --block 64</c>), laid out by
    /// the real devices' <c>Create</c>: the features, queues and config the net, block and
    /// console devices offer, not a hand-built page.
    /// </summary>
    [Fact]
    public void RealDevices_At64MiB_MatchSpecWorkedExample()
    {
        ulong mem = 64UL << 20;
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(mem), mem);
        var page = new DevicePage(memory);
        NetDevice.Create(page, new MemoryTap(StandardDevices.Mac));
        using BlockDevice block = BlockDevice.Create(page, new MemoryBlockStore(new byte[(0x1234 * 512) + 100]));
        ConsoleDevice.Create(page, new MemoryConsolePort(new T()));
        string expected =
            "0102010600" + "8000010001400000" + "8000020003400000" + "20" + "00" + "525400123456"
            + "0201011000" + "8000030005400000" + "05" + "00" + "3412000000000000" + "00000000" + "7E000000"
            + "0302000000" + "8000040007400000" + "8000050009400000"
            + "00";

        byte[] bytes = page.Snapshot();
        Assert.Equal(0x4000000UL, page.Address);
        Assert.Equal(expected, Convert.ToHexString(bytes, 0, 82));
        Assert.All(bytes[82..], b => Assert.Equal(0, b));
        Assert.Equal(0x400B000UL, page.GuestLimit);
    }

    /// <summary>The hand-built page the other tests share is the same page the real devices lay out.</summary>
    [Fact]
    public void StandardDevices_Fixture_IsThePageTheRealDevicesLayOut()
    {
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(memory);
        NetDevice.Create(page, new MemoryTap(StandardDevices.Mac));
        using BlockDevice block = BlockDevice.Create(page, new MemoryBlockStore(new byte[0x1234 * 512]));
        ConsoleDevice.Create(page, new MemoryConsolePort(new T()));
        Assert.Equal(Convert.ToHexString(StandardDevices.Build(Mem).Page.Snapshot()), Convert.ToHexString(page.Snapshot()));
    }

    [Fact]
    public void StandardDevices_Records_AreBackToBackWithSizes29_31_21()
    {
        StandardDevices d = StandardDevices.Build(Mem);
        Assert.Equal([0, 29, 60], d.All.Select(r => r.Offset));
        Assert.Equal([Mem, Mem + 29, Mem + 60], d.All.Select(r => r.DescriptorAddress));
        Assert.Equal([0 + 5 + 16 + 2, 29 + 5 + 8 + 2, 60 + 5 + 16], d.All.Select(r => r.ConfigOffset));
        Assert.Equal([VirtioDeviceType.Net, VirtioDeviceType.Block, VirtioDeviceType.Console], d.All.Select(r => r.Type));
        Assert.Equal(0, d.Page.Snapshot()[81]);
    }

    [Fact]
    public void StandardDevices_IrqsAndRings_FollowQueueCreationOrder()
    {
        StandardDevices d = StandardDevices.Build(Mem);
        var queues = d.All.SelectMany(r => r.Queues).ToList();
        Assert.Equal(5, queues.Count);
        for (int i = 0; i < queues.Count; i++)
        {
            Assert.Equal(128, queues[i].Config.Num);
            Assert.Equal(i + 1, queues[i].Config.Irq);
            Assert.Equal((uint)((Mem / Page) + 1 + (2 * (ulong)i)), queues[i].Config.Pfn);
            Assert.Equal(Mem + Page + (2 * Page * (ulong)i), queues[i].RingAddress);
        }

        Assert.Equal(Mem + (11 * Page), d.Page.GuestLimit);
        Assert.Equal(d.Page.GuestLimit, d.Memory.Limit);
    }

    /// <summary>Any mix of devices: records back to back, headers and vqconfigs exactly as spec §3.1–§3.3 say.</summary>
    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 150 * PropertyScale.Factor)]
    public void Page_AnyDeviceMix_IsLaidOutBackToBack(DeviceMix mix)
    {
        DevicePage page = NewPage();
        var records = new List<DeviceRecord>();
        foreach (DeviceSpec spec in mix.Devices)
        {
            DeviceRecord r = page.AddDevice((VirtioDeviceType)spec.Type, "dev");
            for (int q = 0; q < spec.Queues; q++)
            {
                r.AddVirtqueue();
            }

            foreach (int bit in spec.FeatureBits)
            {
                r.AddFeature(bit);
            }

            r.SetConfig(spec.Config);
            records.Add(r);
        }

        byte[] bytes = page.Snapshot();
        int offset = 0;
        int queueIndex = 0;
        for (int k = 0; k < records.Count; k++)
        {
            DeviceSpec spec = mix.Devices[k];
            DeviceRecord r = records[k];
            int featureLen = spec.FeatureBits.Length == 0 ? 0 : (spec.FeatureBits.Max() / 8) + 1;
            Assert.Equal(offset, r.Offset);
            Assert.Same(r, page.FindByDescriptorAddress(Mem + (ulong)offset));
            Assert.Equal(Convert.ToHexString([spec.Type, (byte)spec.Queues, (byte)featureLen, (byte)spec.Config.Length, 0]), Convert.ToHexString(bytes, offset, 5));
            for (int q = 0; q < spec.Queues; q++, queueIndex++)
            {
                var vq = LguestVqConfig.Read(bytes.AsSpan(offset + 5 + (8 * q)));
                Assert.Equal(new LguestVqConfig(128, (ushort)(queueIndex + 1), (uint)((Mem / Page) + 1 + (2 * (ulong)queueIndex))), vq);
                Assert.Equal(vq, r.Queues[q].Config);
            }

            int hostHalf = offset + 5 + (8 * spec.Queues);
            for (int i = 0; i < featureLen; i++)
            {
                int expectedByte = spec.FeatureBits.Where(b => b / 8 == i).Aggregate(0, (acc, b) => acc | (1 << (b % 8)));
                Assert.Equal(expectedByte, bytes[hostHalf + i]);
                Assert.Equal(0, bytes[hostHalf + featureLen + i]);
            }

            Assert.Equal(hostHalf + (2 * featureLen), r.ConfigOffset);
            Assert.Equal(Convert.ToHexString(spec.Config), Convert.ToHexString(bytes, r.ConfigOffset, spec.Config.Length));
            offset = r.ConfigOffset + spec.Config.Length;
        }

        Assert.Equal(0, bytes[offset]);
        Assert.Equal(Mem + Page + (2 * Page * (ulong)queueIndex), page.GuestLimit);
        Assert.Null(page.FindByDescriptorAddress(Mem + (ulong)offset));
        Assert.Null(page.FindByDescriptorAddress(0));
    }

    /// <summary>16 records of 255 bytes end at 4080; returns the page with one more device ending at <paramref name="end"/>.</summary>
    private static DevicePage PageFilledTo(int end)
    {
        DevicePage page = NewPage();
        for (int i = 0; i < 16; i++)
        {
            page.AddDevice(VirtioDeviceType.Console, "filler").SetConfig(new byte[250]);
        }

        page.AddDevice(VirtioDeviceType.Console, "last").SetConfig(new byte[end - 4080 - 5]);
        return page;
    }

    [Fact]
    public void AddDevice_HeaderEndsExactlyAtPageEnd_Fits()
    {
        DevicePage page = PageFilledTo(4091);
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Net, "edge");
        Assert.Equal(4091, r.Offset);
        Assert.Throws<LauncherException>(() => page.AddDevice(VirtioDeviceType.Net, "over"));
        Assert.Equal(18, page.Devices.Count);
    }

    [Fact]
    public void AddDevice_HeaderWouldCrossPageEnd_TooManyDevices()
    {
        DevicePage page = PageFilledTo(4092);
        Assert.Throws<LauncherException>(() => page.AddDevice(VirtioDeviceType.Net, "over"));
        Assert.Equal(17, page.Devices.Count);
    }

    [Fact]
    public void SetConfig_WouldCrossPageEnd_TooManyDevices()
    {
        DevicePage page = PageFilledTo(4085);
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Net, "edge");
        Assert.Throws<LauncherException>(() => r.SetConfig(new byte[7]));
        r.SetConfig(new byte[6]);
        Assert.Equal(6, r.ConfigLength);
    }

    [Fact]
    public void AddVirtqueue_VqconfigWouldCrossPageEnd_FailsWithoutTakingPages()
    {
        DevicePage page = PageFilledTo(4091);
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Net, "edge");
        ulong limit = page.GuestLimit;
        Assert.Throws<LauncherException>(() => r.AddVirtqueue());
        Assert.Equal(limit, page.GuestLimit);
        Assert.Empty(r.Queues);
    }

    /// <summary>
    /// A feature bitmap that would grow past the page end is refused as "too many devices" (the
    /// message the CLI shows), before anything is written: a record at 4088 has its bitmaps at
    /// 4093, so one byte each fits and two each do not.
    /// </summary>
    [Fact]
    public void AddFeature_BitmapsWouldCrossPageEnd_TooManyDevices()
    {
        DevicePage page = PageFilledTo(4088);
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Net, "edge");
        Assert.Equal(4088, r.Offset);
        r.AddFeature(0);
        LauncherException e = Assert.Throws<LauncherException>(() => r.AddFeature(8));
        Assert.Equal("too many devices", e.Message);
        Assert.Equal([1], r.OfferedFeatures.ToArray());
        Assert.Equal(1, page.Snapshot()[4088 + 2]);
    }

    /// <summary>Offering a feature twice leaves it offered once (lguest.c set the bit with |=).</summary>
    [Fact]
    public void AddFeature_SameBitTwice_StaysOffered()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Net, "net");
        r.AddFeature(5);
        r.AddFeature(5);
        Assert.True(r.IsOffered(5));
        Assert.Equal([1 << 5], r.OfferedFeatures.ToArray());
    }

    [Fact]
    public void AddVirtqueue_AfterFeature_Throws()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Net, "net");
        r.AddFeature(5);
        Assert.Throws<InvalidOperationException>(() => r.AddVirtqueue());
    }

    [Fact]
    public void AddVirtqueue_AfterConfig_Throws()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Block, "block");
        r.SetConfig(new byte[16]);
        Assert.Throws<InvalidOperationException>(() => r.AddVirtqueue());
    }

    [Fact]
    public void AddFeature_GrowingBitmapAfterConfig_Throws()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Block, "block");
        r.AddFeature(0);
        r.SetConfig(new byte[16]);
        Assert.Throws<InvalidOperationException>(() => r.AddFeature(8));
        Assert.Equal(1, r.FeatureLength);
    }

    [Fact]
    public void AddFeature_WithinBitmapAfterConfig_IsAllowed()
    {
        DevicePage page = NewPage();
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Block, "block");
        r.AddFeature(0);
        r.SetConfig([1, 2, 3]);
        r.AddFeature(2);
        Assert.True(r.IsOffered(2));
        Assert.Equal("0200010300" + "05" + "00" + "010203", Convert.ToHexString(page.Snapshot(), 0, 10));
    }

    [Fact]
    public void AddVirtqueue_31QueuesTakeIrqs1To31_32ndIsTooManyDevices()
    {
        // The kernel takes irqs below LGUEST_IRQS (32) only: a 32nd queue is refused at set-up
        // (the pages past guest_max are covered by AllocatePages_PastGuestMax_ThrowsAndKeepsLimit).
        DevicePage page = NewPage();
        DeviceRecord r = page.AddDevice(VirtioDeviceType.Console, "many");
        for (int i = 0; i < 31; i++)
        {
            r.AddVirtqueue();
        }

        Assert.Equal(Mem + (63 * Page), page.GuestLimit);
        Assert.Equal(31, r.Queues[^1].Config.Irq);
        LauncherException e = Assert.Throws<LauncherException>(() => r.AddVirtqueue());
        Assert.Contains("too many devices", e.Message, StringComparison.Ordinal);
        Assert.Equal(31, r.Queues.Count);
        Assert.Equal(Mem + (63 * Page), page.GuestLimit);
        Assert.Equal(31, page.Snapshot()[1]);
    }

    [Fact]
    public void AllocatePages_PastGuestMax_ThrowsAndKeepsLimit()
    {
        DevicePage page = NewPage();
        Assert.Equal(Mem + Page, page.AllocatePages(254));
        Assert.Throws<LauncherException>(() => page.AllocatePages(2));
        Assert.Equal(Mem + (255 * Page), page.GuestLimit);
        Assert.Equal(Mem + (255 * Page), page.AllocatePages(1));
        Assert.Throws<LauncherException>(() => page.AllocatePages(1));
        Assert.Throws<LauncherException>(() => page.AllocatePages(-1));
    }

    /// <summary>The set-up refusals are lines the user reads: each says what ran out, and where.</summary>
    [Fact]
    public void AllocatePages_PastGuestMax_SaysHowManyPagesWhereAndTheCeiling()
    {
        DevicePage page = NewPage();
        LauncherException e = Assert.Throws<LauncherException>(() => page.AllocatePages(256));
        Assert.Equal("not enough memory for devices (256 more pages at 0x11000, ceiling 0x110000)", e.Message);
    }

    [Fact]
    public void AllocateIrq_ThirtySecondQueue_SaysWhichIrqItWouldNeed()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Console, "many");
        for (int i = 0; i < 31; i++)
        {
            r.AddVirtqueue();
        }

        LauncherException e = Assert.Throws<LauncherException>(() => r.AddVirtqueue());
        Assert.Equal("too many devices: a queue would need irq 32, and the kernel takes irqs below 32 only", e.Message);
    }

    [Fact]
    public void PageFull_RefusalIsTooManyDevices()
    {
        Assert.Equal("too many devices", Assert.Throws<LauncherException>(() => PageFilledTo(4092).AddDevice(VirtioDeviceType.Net, "over")).Message);
        DeviceRecord r = PageFilledTo(4085).AddDevice(VirtioDeviceType.Net, "edge");
        Assert.Equal("too many devices", Assert.Throws<LauncherException>(() => r.SetConfig(new byte[7])).Message);
    }

    /// <summary>A config longer than config_len's one byte can say is refused even where the page has room.</summary>
    [Fact]
    public void SetConfig_LongerThan255Bytes_TooManyDevices_255Fits()
    {
        DevicePage page = NewPage();
        DeviceRecord first = page.AddDevice(VirtioDeviceType.Block, "first");
        Assert.Equal("too many devices", Assert.Throws<LauncherException>(() => first.SetConfig(new byte[256])).Message);
        first.SetConfig(Enumerable.Repeat((byte)0xee, 255).ToArray());
        Assert.Equal(255, first.ConfigLength);
        Assert.Equal(255, page.Snapshot()[3]);
    }

    /// <summary>
    /// Only the newest record may grow (its end is where the next record starts): a queue, a
    /// feature or a config for an earlier one is refused, naming that device, and the page is
    /// left as it was.
    /// </summary>
    [Fact]
    public void EarlierRecord_CannotGrow_OnceAnotherDeviceFollows()
    {
        DevicePage page = NewPage();
        DeviceRecord first = page.AddDevice(VirtioDeviceType.Block, "first");
        page.AddDevice(VirtioDeviceType.Net, "second");
        byte[] before = page.Snapshot();
        ulong limit = page.GuestLimit;
        Action[] grow = [() => first.AddVirtqueue(), () => first.AddFeature(0), () => first.SetConfig([1])];
        foreach (Action g in grow)
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(g);
            Assert.Equal("first: a device record cannot grow after another device was added behind it", e.Message);
        }

        Assert.Equal(before, page.Snapshot());
        Assert.Equal(limit, page.GuestLimit);
        Assert.Equal(0, first.FeatureLength);
        Assert.Empty(first.Queues);
    }

    [Fact]
    public void OutOfOrderConstruction_MessagesNameTheDevice()
    {
        DeviceRecord r = NewPage().AddDevice(VirtioDeviceType.Block, "blk7");
        r.AddFeature(0);
        Assert.Equal("blk7: a virtqueue cannot be added after features or config", Assert.Throws<InvalidOperationException>(() => r.AddVirtqueue()).Message);
        r.SetConfig([1]);
        Assert.Equal("blk7: feature bitmaps cannot grow after config", Assert.Throws<InvalidOperationException>(() => r.AddFeature(8)).Message);
    }

    [Fact]
    public void DevicePage_BadMemoryShape_SaysWhatItMustBe()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(Mem) - 1, Mem)));
        Assert.StartsWith("guest memory must be a non-zero page multiple with 256 pages above it", e.Message, StringComparison.Ordinal);
        Assert.Equal("memory", e.ParamName);
    }

    /// <summary>A notify names a device only by the exact address of its record.</summary>
    [Fact]
    public void FindByDescriptorAddress_ExactRecordAddressesOnly()
    {
        DevicePage page = NewPage();
        DeviceRecord a = page.AddDevice(VirtioDeviceType.Console, "a");
        DeviceRecord b = page.AddDevice(VirtioDeviceType.Net, "b");
        Assert.Same(a, page.FindByDescriptorAddress(Mem));
        Assert.Same(b, page.FindByDescriptorAddress(Mem + (ulong)LguestDeviceDesc.Size));
        Assert.Equal(Mem + (ulong)LguestDeviceDesc.Size, b.DescriptorAddress);
        Assert.Null(page.FindByDescriptorAddress(Mem + 1));
        Assert.Null(page.FindByDescriptorAddress(Mem + (2 * (ulong)LguestDeviceDesc.Size)));
        Assert.Null(page.FindByDescriptorAddress(0));
    }
}
