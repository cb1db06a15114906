using FsCheck;
using FsCheck.Fluent;

namespace LguestSim.Tests.Property.Generators;

/// <summary>One device to build: type byte, queue count, offered feature bits (in adding order), config bytes.</summary>
public sealed record DeviceSpec(byte Type, int Queues, int[] FeatureBits, byte[] Config)
{
    public override string ToString() => $"type={Type} q={Queues} bits=[{string.Join(",", FeatureBits)}] config={Convert.ToHexString(Config)}";
}

/// <summary>Several devices, built in order on one page.</summary>
public sealed record DeviceMix(DeviceSpec[] Devices)
{
    public override string ToString() => string.Join(" | ", Devices.Select(d => d.ToString()));
}

/// <summary>
/// A guest store into a device record of the standard page. <c>Field</c>: 0 type, 1 num_vq,
/// 2 feature_len, 3 config_len, 4 a host-half feature byte, 5 a vqconfig byte.
/// </summary>
public sealed record PageWrite(int Device, int Field, int Index, byte Value);

/// <summary>Guest scribbles on the standard page, plus what it writes into the two ack halves.</summary>
public sealed record PageScribble(PageWrite[] Writes, byte NetAck, byte BlockAck)
{
    public override string ToString() => $"acks {NetAck:x2}/{BlockAck:x2} writes [{string.Join(", ", Writes.Select(w => w.ToString()))}]";
}

/// <summary>
/// One device's features and the guest's view of them: offered bits, the guest's ack bytes,
/// its status, how many chains it had made the device pop, and a seed for ring garbage.
/// </summary>
public sealed record FeatureCase(int Queues, int[] Bits, byte[] Config, byte[] Ack, byte Status, int Pops, int GarbageSeed)
{
    public override string ToString() =>
        $"q={Queues} bits=[{string.Join(",", Bits)}] config={Convert.ToHexString(Config)} ack={Convert.ToHexString(Ack)} status=0x{Status:x} pops={Pops} seed={GarbageSeed}";
}

public static partial class VirtioArbitraries
{
    /// <summary>Distinct feature bits below a random bound up to <paramref name="maxBit"/>, in random order (possibly none).</summary>
    private static Gen<int[]> FeatureBits(int maxBit) =>
        from top in Gen.Choose(1, maxBit)
        from bits in Gen.SubListOf(Enumerable.Range(0, top).ToArray())
        from shuffled in Gen.Shuffle(bits.ToArray())
        select shuffled;

    private static Gen<byte[]> Bytes(int min, int max) =>
        from n in Gen.Choose(min, max)
        from b in Gen.ArrayOf(U8, n)
        select b;

    public static Arbitrary<DeviceMix> DeviceMixes() =>
        (from count in Gen.Choose(1, 6)
         from devices in Gen.ArrayOf(
             from type in Gen.Choose(1, 255).Select(t => (byte)t)
             from queues in Gen.Choose(0, 3)
             from bits in Gen.Frequency((1, Gen.Constant(Array.Empty<int>())), (3, FeatureBits(24)))
             from config in Bytes(0, 40)
             select new DeviceSpec(type, queues, bits, config),
             count)
         select new DeviceMix(devices)).ToArbitrary();

    public static Arbitrary<PageScribble> PageScribbles() =>
        (from n in Gen.Choose(1, 12)
         from writes in Gen.ArrayOf(
             from device in Gen.Choose(0, 2)
             from field in Gen.Choose(0, 5)
             from index in Gen.Choose(0, 1000)
             from value in U8
             select new PageWrite(device, field, index, value),
             n)
         from netAck in U8
         from blockAck in U8
         select new PageScribble(writes, netAck, blockAck)).ToArbitrary();

    public static Arbitrary<FeatureCase> FeatureCases() =>
        (from queues in Gen.Choose(0, 2)
         from bits in FeatureBits(40)
         from config in Bytes(0, 12)
         from ack in Bytes(6, 6)
         from status in U8
         from pops in Gen.Choose(0, 5)
         from seed in Gen.Choose(0, int.MaxValue)
         select new FeatureCase(queues, bits, config, ack, status, pops, seed)).ToArbitrary();
}
