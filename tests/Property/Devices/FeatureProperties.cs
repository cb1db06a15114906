using System.Buffers.Binary;
using FsCheck.Xunit;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Devices;

/// <summary>
/// Feature negotiation and device reset (spec §3.2, §3.3 step 3, §5.4, §8.3): offers land
/// in the host half, acks are honoured only for offered bits, reset wipes exactly the
/// guest's half, the status byte and the rings.
/// </summary>
public class FeatureProperties
{
    private const ulong Mem = 64 * 1024;

    /// <summary>A 3-byte-config device first (so the record under test starts at an odd offset), the device under test, then a console.</summary>
    private static (RecordingGuestMemory Memory, DevicePage Page, DeviceRecord Device) Build(FeatureCase c)
    {
        var memory = new RecordingGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(memory);
        page.AddDevice(VirtioDeviceType.Net, "before").SetConfig([0xAA, 0xBB, 0xCC]);

        DeviceRecord device = page.AddDevice(VirtioDeviceType.Block, "dut");
        for (int q = 0; q < c.Queues; q++)
        {
            device.AddVirtqueue();
        }

        foreach (int bit in c.Bits)
        {
            device.AddFeature(bit);
        }

        device.SetConfig(c.Config);

        DeviceRecord after = page.AddDevice(VirtioDeviceType.Console, "after");
        after.AddVirtqueue();
        return (memory, page, device);
    }

    private static int FeatureLen(FeatureCase c) => c.Bits.Length == 0 ? 0 : (c.Bits.Max() / 8) + 1;

    /// <summary>Guest-physical address of the ack half, computed from the spec: desc + 5 + 8*num_vq + feature_len.</summary>
    private static ulong AckAddress(DevicePage page, DeviceRecord d, FeatureCase c) =>
        page.Address + (ulong)d.Offset + 5 + (8 * (ulong)c.Queues) + (ulong)FeatureLen(c);

    private static byte[] Bitmap(FeatureCase c)
    {
        byte[] bitmap = new byte[FeatureLen(c)];
        foreach (int bit in c.Bits)
        {
            bitmap[bit / 8] |= (byte)(1 << (bit % 8));
        }

        return bitmap;
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void Features_AnyOfferedSet_HostHalfMatchesAndAckHalfIsClear(FeatureCase c)
    {
        (RecordingGuestMemory memory, DevicePage page, DeviceRecord d) = Build(c);
        int flen = FeatureLen(c);
        byte[] bytes = page.Snapshot();
        int hostHalf = d.Offset + 5 + (8 * c.Queues);

        Assert.Equal(flen, d.FeatureLength);
        Assert.Equal(flen, bytes[d.Offset + 2]);
        Assert.Equal(Convert.ToHexString(Bitmap(c)), Convert.ToHexString(bytes, hostHalf, flen));
        Assert.Equal(Convert.ToHexString(Bitmap(c)), Convert.ToHexString(d.OfferedFeatures));
        Assert.All(bytes[(hostHalf + flen)..(hostHalf + (2 * flen))], b => Assert.Equal(0, b));
        Assert.Equal(hostHalf + (2 * flen), d.ConfigOffset);
        Assert.Equal(Convert.ToHexString(c.Config), Convert.ToHexString(bytes, d.ConfigOffset, c.Config.Length));
        for (int bit = -3; bit < (8 * flen) + 10; bit++)
        {
            Assert.Equal(c.Bits.Contains(bit), d.IsOffered(bit));
        }

        Assert.Empty(memory.Violations);
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void Features_GuestAcksAnything_AcceptedIsSubsetOfOffered(FeatureCase c)
    {
        (_, DevicePage page, DeviceRecord d) = Build(c);
        int flen = FeatureLen(c);
        byte[] ack = c.Ack[..flen];
        page.Memory.Write(AckAddress(page, d, c), ack);

        byte[] bitmap = Bitmap(c);
        for (int bit = -3; bit < (8 * flen) + 24; bit++)
        {
            bool offered = c.Bits.Contains(bit);
            bool ackBit = bit >= 0 && bit / 8 < flen && (ack[bit / 8] & (1 << (bit % 8))) != 0;
            Assert.True((offered && ackBit) == d.IsAcked(bit), $"bit {bit}: offered {offered} ack {ackBit} IsAcked {d.IsAcked(bit)}");
        }

        byte[] accepted = d.AckedFeatures();
        Assert.Equal(flen, accepted.Length);
        for (int i = 0; i < flen; i++)
        {
            Assert.Equal(ack[i] & bitmap[i], accepted[i]);
        }
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 150 * PropertyScale.Factor)]
    public void Reset_AnyDeviceState_ClearsStatusAcksAndRingsOnly(FeatureCase c)
    {
        (RecordingGuestMemory memory, DevicePage page, DeviceRecord d) = Build(c);
        int flen = FeatureLen(c);
        ulong descAddr = page.Address + (ulong)d.Offset;
        memory.WriteU8(descAddr + 4, c.Status);
        memory.Write(AckAddress(page, d, c), c.Ack.AsSpan(0, flen));

        // The guest had the device pop some chains, then left garbage all over the rings.
        var rnd = new Random(c.GarbageSeed);
        foreach (Virtqueue vq in d.Queues)
        {
            PopValidChains(memory, vq, c.Pops);
            Assert.Equal((ushort)c.Pops, vq.LastAvailIndex);
            rnd.NextBytes(memory.Bytes.AsSpan((int)vq.RingAddress, VirtioArbitraries.RingBytes(vq.Config.Num)));
        }

        // What reset may touch, from the spec: status, the ack half, vring_size bytes of each ring.
        byte[] expected = memory.Bytes[..(int)page.GuestLimit];
        expected[descAddr + 4] = 0;
        Array.Clear(expected, (int)AckAddress(page, d, c), flen);
        foreach (Virtqueue vq in d.Queues)
        {
            Array.Clear(expected, (int)vq.RingAddress, VirtioArbitraries.RingBytes(vq.Config.Num));
        }

        d.Reset();

        Assert.Equal(VirtioStatus.None, d.Status);
        Assert.All(d.Queues, vq => Assert.Equal(0, vq.LastAvailIndex));
        Assert.DoesNotContain(Enumerable.Range(-3, (8 * flen) + 10), d.IsAcked);
        Assert.Equal(Convert.ToHexString(Bitmap(c)), Convert.ToHexString(d.OfferedFeatures));
        Assert.True(expected.AsSpan().SequenceEqual(memory.Bytes.AsSpan(0, (int)page.GuestLimit)), "reset touched bytes outside status, acks and rings (or missed some)");
        Assert.All(d.Queues, vq => Assert.False(vq.TryPop(out _)));
        Assert.Empty(memory.Violations);
    }

    /// <summary>Writes one-descriptor chains straight into the ring and lets the engine pop them.</summary>
    private static void PopValidChains(GuestMemory memory, Virtqueue vq, int count)
    {
        ulong ring = vq.RingAddress;
        ulong avail = ring + (16UL * vq.Config.Num);
        memory.WriteU64(ring, 0x100);
        memory.WriteU32(ring + 8, 64);
        for (int i = 0; i < count; i++)
        {
            memory.WriteU16(avail + 4 + (2UL * (ulong)i), 0);
        }

        memory.WriteU16(avail + 2, (ushort)count);
        for (int i = 0; i < count; i++)
        {
            Assert.True(vq.TryPop(out DescriptorChain chain));
            Assert.Equal(0, chain.Head);
        }
    }

    [Fact]
    public void AddFeature_BitmapGrows_HostHalfRewrittenAndAckHalfMoved()
    {
        var memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(memory);
        DeviceRecord d = page.AddDevice(VirtioDeviceType.Net, "net");
        d.AddFeature(3);
        memory.WriteU8(page.Address + 5 + 1, 0xFF); // a stray ack in the one-byte ack half
        d.AddFeature(17);

        // host half 08 00 02, then a clear 3-byte ack half (spec §3.3 step 3 quirk cannot arise).
        Assert.Equal("0100030000" + "080002" + "000000", Convert.ToHexString(page.Snapshot(), 0, 11));
        Assert.True(d.IsOffered(3) && d.IsOffered(17));
        Assert.False(d.IsAcked(3));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(255 * 8)]
    public void AddFeature_BitOutsideAByteLengthBitmap_Throws(int bit) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DevicePage(new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem)).AddDevice(VirtioDeviceType.Net, "net").AddFeature(bit));
}
