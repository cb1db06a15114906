using FsCheck.Xunit;
using LguestSim.Engine.Abi;
using LguestSim.Tests.Property.Generators;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Abi;

/// <summary>
/// Every wire type of src/Engine/Abi: <c>Read(Write(x)) == x</c>, a byte-level round trip,
/// writes that stay inside the struct, and one hand-assembled example per type that pins
/// the field offsets to the spec tables (§3.1, §4.1, §5.2, §5.3, §7.6).
/// </summary>
public class AbiRoundTripTests
{
    private delegate void Writer<T>(T value, Span<byte> destination);

    private delegate T Reader<T>(ReadOnlySpan<byte> source);

    private const byte Guard = 0xA5;

    /// <summary>
    /// Writes <paramref name="value"/> 3 bytes into a guard-filled buffer that is larger than
    /// the struct, so a write past <paramref name="size"/> lands on guard bytes and is seen.
    /// </summary>
    private static void AssertRoundTrip<T>(T value, int size, Writer<T> write, Reader<T> read)
    {
        byte[] buffer = new byte[size + 16];
        Array.Fill(buffer, Guard);
        write(value, buffer.AsSpan(3));
        Assert.Equal(value, read(buffer.AsSpan(3)));
        Assert.All(buffer[..3], b => Assert.Equal(Guard, b));
        Assert.All(buffer[(3 + size)..], b => Assert.Equal(Guard, b));
    }

    /// <summary>Reads the first <paramref name="size"/> bytes and writes the value back over different bytes.</summary>
    private static void AssertBytesSurvive<T>(byte[] raw, int size, Writer<T> write, Reader<T> read)
    {
        byte[] output = new byte[size];
        Array.Fill(output, (byte)~raw[0]);
        write(read(raw.AsSpan(0, size)), output);
        Assert.Equal(Convert.ToHexString(raw, 0, size), Convert.ToHexString(output));
    }

    private static void AssertExample<T>(string hex, T expected, Writer<T> write, Reader<T> read)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        Assert.Equal(expected, read(bytes));
        byte[] written = new byte[bytes.Length];
        write(expected, written);
        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(written));
    }

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void DeviceDesc_WriteThenRead_RoundTrips(LguestDeviceDesc x) => AssertRoundTrip(x, 5, (v, d) => v.Write(d), LguestDeviceDesc.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void VqConfig_WriteThenRead_RoundTrips(LguestVqConfig x) => AssertRoundTrip(x, 8, (v, d) => v.Write(d), LguestVqConfig.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void VringDesc_WriteThenRead_RoundTrips(VringDesc x) => AssertRoundTrip(x, 16, (v, d) => v.Write(d), VringDesc.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void UsedElem_WriteThenRead_RoundTrips(VringUsedElem x) => AssertRoundTrip(x, 8, (v, d) => v.Write(d), VringUsedElem.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void RingHeader_WriteThenRead_RoundTrips(VringRingHeader x) => AssertRoundTrip(x, 4, (v, d) => v.Write(d), VringRingHeader.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void NetHdr_WriteThenRead_RoundTrips(VirtioNetHdr x) => AssertRoundTrip(x, 10, (v, d) => v.Write(d), VirtioNetHdr.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void NetConfig_WriteThenRead_RoundTrips(VirtioNetConfig x) => AssertRoundTrip(x, 6, (v, d) => v.Write(d), VirtioNetConfig.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void BlkConfig_WriteThenRead_RoundTrips(VirtioBlkConfig x) => AssertRoundTrip(x, 16, (v, d) => v.Write(d), VirtioBlkConfig.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void BlkOutHdr_WriteThenRead_RoundTrips(VirtioBlkOutHdr x) => AssertRoundTrip(x, 16, (v, d) => v.Write(d), VirtioBlkOutHdr.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 300 * PropertyScale.Factor)]
    public void E820Entry_WriteThenRead_RoundTrips(E820Entry x) => AssertRoundTrip(x, 20, (v, d) => v.Write(d), E820Entry.Read);

    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void BootParams_WriteThenRead_RoundTrips(BootParams x)
    {
        byte[] page = new byte[4096];
        x.Write(page);
        Assert.Equal(x, BootParams.Read(page));
    }

    /// <summary>Raw bytes → value → bytes gives the same bytes: no field is dropped, narrowed or swapped.</summary>
    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 200 * PropertyScale.Factor)]
    public void FixedSizeTypes_ReadThenWrite_ReproduceBytes(PageBytes page)
    {
        byte[] raw = page.Bytes;
        AssertBytesSurvive<LguestDeviceDesc>(raw, 5, (v, d) => v.Write(d), LguestDeviceDesc.Read);
        AssertBytesSurvive<LguestVqConfig>(raw, 8, (v, d) => v.Write(d), LguestVqConfig.Read);
        AssertBytesSurvive<VringDesc>(raw, 16, (v, d) => v.Write(d), VringDesc.Read);
        AssertBytesSurvive<VringUsedElem>(raw, 8, (v, d) => v.Write(d), VringUsedElem.Read);
        AssertBytesSurvive<VringRingHeader>(raw, 4, (v, d) => v.Write(d), VringRingHeader.Read);
        AssertBytesSurvive<VirtioNetHdr>(raw, 10, (v, d) => v.Write(d), VirtioNetHdr.Read);
        AssertBytesSurvive<VirtioNetConfig>(raw, 6, (v, d) => v.Write(d), VirtioNetConfig.Read);
        AssertBytesSurvive<VirtioBlkConfig>(raw, 16, (v, d) => v.Write(d), VirtioBlkConfig.Read);
        AssertBytesSurvive<VirtioBlkOutHdr>(raw, 16, (v, d) => v.Write(d), VirtioBlkOutHdr.Read);
        AssertBytesSurvive<E820Entry>(raw, 20, (v, d) => v.Write(d), E820Entry.Read);
    }

    /// <summary>BootParams.Write sets exactly the Launcher's fields (spec §7.6) and leaves every other byte alone.</summary>
    [Property(Arbitrary = new[] { typeof(VirtioArbitraries) }, MaxTest = 100 * PropertyScale.Factor)]
    public void BootParams_Write_TouchesOnlyItsFields(PageBytes source, BootParams x)
    {
        (int Offset, int Size)[] fields = [(0x1E8, 1), (0x2D0, 20), (0x206, 2), (0x210, 1), (0x211, 1), (0x218, 4), (0x21C, 4), (0x228, 4), (0x23C, 4)];
        byte[] page = (byte[])source.Bytes.Clone();
        BootParams.Read(source.Bytes).Write(page);
        Assert.Equal(Convert.ToHexString(source.Bytes), Convert.ToHexString(page));

        x.Write(page);
        for (int i = 0; i < page.Length; i++)
        {
            if (!fields.Any(f => i >= f.Offset && i < f.Offset + f.Size))
            {
                Assert.True(source.Bytes[i] == page[i], $"byte 0x{i:x} changed");
            }
        }

        Assert.Equal(x, BootParams.Read(page));
    }

    [Fact]
    public void DeviceDesc_Example_MatchesSpecOffsets()
    {
        AssertExample<LguestDeviceDesc>("01 02 01 06 07", new(1, 2, 1, 6, 7), (v, d) => v.Write(d), LguestDeviceDesc.Read);
        Assert.Equal(29, new LguestDeviceDesc(1, 2, 1, 6, 0).RecordSize);
        Assert.Equal(31, new LguestDeviceDesc(2, 1, 1, 16, 0).RecordSize);
        Assert.Equal(21, new LguestDeviceDesc(3, 2, 0, 0, 0).RecordSize);
        Assert.Equal(5 + (8 * 255) + (2 * 255) + 255, new LguestDeviceDesc(9, 255, 255, 255, 255).RecordSize);
    }

    [Fact]
    public void VqConfig_Example_MatchesSpecOffsets() =>
        AssertExample<LguestVqConfig>("80 00 05 00 09 40 00 00", new(128, 5, 0x4009), (v, d) => v.Write(d), LguestVqConfig.Read);

    [Fact]
    public void VringDesc_Example_MatchesSpecOffsets() =>
        AssertExample<VringDesc>(
            "88 77 66 55 44 33 22 11 | 04 03 02 01 | 03 00 | 07 00".Replace("|", string.Empty, StringComparison.Ordinal),
            new(0x1122_3344_5566_7788, 0x0102_0304, 3, 7),
            (v, d) => v.Write(d),
            VringDesc.Read);

    [Fact]
    public void UsedElem_Example_MatchesSpecOffsets() =>
        AssertExample<VringUsedElem>("78 56 34 12 F0 DE BC 9A", new(0x1234_5678, 0x9ABC_DEF0), (v, d) => v.Write(d), VringUsedElem.Read);

    [Fact]
    public void RingHeader_Example_MatchesSpecOffsets() =>
        AssertExample<VringRingHeader>("01 00 34 12", new(1, 0x1234), (v, d) => v.Write(d), VringRingHeader.Read);

    [Fact]
    public void NetHdr_Example_MatchesSpecOffsets() =>
        AssertExample<VirtioNetHdr>("01 80 22 11 44 33 66 55 88 77", new(1, 0x80, 0x1122, 0x3344, 0x5566, 0x7788), (v, d) => v.Write(d), VirtioNetHdr.Read);

    [Fact]
    public void NetConfig_Example_MacBytesInOrder() =>
        AssertExample<VirtioNetConfig>("52 54 00 12 34 56", new(0x5634_1200_5452), (v, d) => v.Write(d), VirtioNetConfig.Read);

    [Fact]
    public void BlkConfig_Example_MatchesSpecOffsets() =>
        AssertExample<VirtioBlkConfig>("01 02 03 04 05 06 07 08 09 0A 0B 0C 7E 00 00 00", new(0x0807_0605_0403_0201, 0x0C0B_0A09, 126), (v, d) => v.Write(d), VirtioBlkConfig.Read);

    [Fact]
    public void BlkOutHdr_Example_MatchesSpecOffsets() =>
        AssertExample<VirtioBlkOutHdr>("01 00 00 80 02 00 00 00 10 32 54 76 98 BA DC FE", new(0x8000_0001, 2, 0xFEDC_BA98_7654_3210), (v, d) => v.Write(d), VirtioBlkOutHdr.Read);

    [Fact]
    public void E820Entry_Example_MatchesSpecOffsets() =>
        AssertExample<E820Entry>("11 00 00 00 00 00 00 00 00 00 00 04 00 00 00 00 01 00 00 00", new(0x11, 0x0400_0000, 1), (v, d) => v.Write(d), E820Entry.Read);

    [Fact]
    public void BootParams_Example_MatchesSpecOffsets()
    {
        byte[] page = new byte[4096];
        page[0x1E8] = 1;
        Convert.FromHexString("0000000000000000" + "0000000400000000" + "01000000").CopyTo(page, 0x2D0);
        page[0x206] = 0x07;
        page[0x207] = 0x02;
        page[0x210] = 0xFF;
        page[0x211] = 0x40;
        Convert.FromHexString("0000F003").CopyTo(page, 0x218);
        Convert.FromHexString("00100100").CopyTo(page, 0x21C);
        Convert.FromHexString("00100000").CopyTo(page, 0x228);
        Convert.FromHexString("01000000").CopyTo(page, 0x23C);
        var expected = new BootParams(1, new E820Entry(0, 0x0400_0000, 1), 0x0207, 0xFF, 0x40, 0x03F0_0000, 0x0001_1000, 0x1000, 1);

        Assert.Equal(expected, BootParams.Read(page));
        byte[] written = new byte[4096];
        expected.Write(written);
        Assert.Equal(Convert.ToHexString(page), Convert.ToHexString(written));
    }
}
