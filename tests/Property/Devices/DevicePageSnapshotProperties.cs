using FsCheck.Xunit;
using LguestSim.Engine.Devices;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Devices;

/// <summary>
/// The guest may scribble on the whole device page after boot. Only <c>status</c> and the
/// ack halves mean anything to the engine afterwards; every length, type, queue and offered
/// bit it uses is its own copy (spec §3.1, style "What to avoid").
/// </summary>
public class DevicePageSnapshotProperties
{
    private const ulong Mem = 64 * 1024;

    /// <summary>Everything the engine believes about a record, as text.</summary>
    private static string View(DevicePage page, DeviceRecord r)
    {
        string queues = string.Join(";", r.Queues.Select(q => $"{q.Config}@0x{q.RingAddress:x}"));
        string offered = string.Concat(Enumerable.Range(-2, 60).Select(b => r.IsOffered(b) ? "1" : "0"));
        bool findsItself = ReferenceEquals(r, page.FindByDescriptorAddress(r.DescriptorAddress));
        return $"{r.Type} {r.Name} off={r.Offset} desc=0x{r.DescriptorAddress:x} q={r.Queues.Count} [{queues}] "
            + $"flen={r.FeatureLength} clen={r.ConfigLength} cfg@{r.ConfigOffset} host={Convert.ToHexString(r.OfferedFeatures)} "
            + $"offered={offered} finds={findsItself}";
    }

    /// <summary>Byte offset in the page of a field a guest may target (spec §3.1/§3.2 layout).</summary>
    private static int? Target(DeviceRecord r, PageWrite w)
    {
        int queues = r.Queues.Count;
        return w.Field switch
        {
            <= 3 => r.Offset + w.Field,
            4 when r.FeatureLength > 0 => r.Offset + 5 + (8 * queues) + (w.Index % r.FeatureLength),
            5 when queues > 0 => r.Offset + 5 + (w.Index % (8 * queues)),
            _ => null,
        };
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void Page_GuestRewritesHeadersAndHostHalf_EngineViewUnchanged(PageScribble scribble)
    {
        StandardDevices d = StandardDevices.Build(Mem, recording: true);
        DevicePage page = d.Page;
        string[] before = d.All.Select(r => View(page, r)).ToArray();

        foreach (PageWrite w in scribble.Writes)
        {
            DeviceRecord r = d.All[w.Device];
            if (Target(r, w) is int offset)
            {
                d.Memory.WriteU8(page.Address + (ulong)offset, w.Value);
            }
        }

        // The guest's acks: written where spec §3.2 puts the second half, whatever it did above.
        d.Memory.WriteU8(page.Address + (ulong)d.Net.Offset + 5 + 16 + 1, scribble.NetAck);
        d.Memory.WriteU8(page.Address + (ulong)d.Block.Offset + 5 + 8 + 1, scribble.BlockAck);

        Assert.Equal(before, d.All.Select(r => View(page, r)).ToArray());
        Assert.Equal(3, page.Devices.Count);

        (DeviceRecord Record, byte Ack)[] withAcks = [(d.Net, scribble.NetAck), (d.Block, scribble.BlockAck), (d.Console, 0xFF)];
        foreach ((DeviceRecord r, byte ack) in withAcks)
        {
            for (int bit = -2; bit < 60; bit++)
            {
                bool offered = bit is >= 0 and < 8 && r.FeatureLength > 0 && (r.OfferedFeatures[0] & (1 << bit)) != 0;
                bool expected = offered && (ack & (1 << bit)) != 0;
                Assert.True(expected == r.IsAcked(bit), $"{r.Name} bit {bit}: IsAcked {r.IsAcked(bit)}, expected {expected}");
            }
        }

        Assert.Empty(((RecordingGuestMemory)d.Memory).Violations);
    }

    [Fact]
    public void StandardDevices_OfferedBits_AreNet5AndBlock0And2()
    {
        StandardDevices d = StandardDevices.Build(Mem);
        Assert.Equal("20", Convert.ToHexString(d.Net.OfferedFeatures));
        Assert.Equal("05", Convert.ToHexString(d.Block.OfferedFeatures));
        Assert.Equal(0, d.Console.FeatureLength);
        Assert.Equal([5], Enumerable.Range(0, 64).Where(d.Net.IsOffered));
        Assert.Equal([0, 2], Enumerable.Range(0, 64).Where(d.Block.IsOffered));
        Assert.DoesNotContain(Enumerable.Range(-8, 72), d.Console.IsOffered);
    }
}
