using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using LguestSim.Backends.Simulated.Guest.Ip;
using Xunit;

namespace LguestSim.Tests.Property.Net;

/// <summary>The simulated guest's ARP, IPv4 and ICMP echo frames (Guest/Ip/Packets).</summary>
public sealed class PacketTests
{
    private static readonly byte[] s_a = [0x02, 0, 0, 0, 0, 1];
    private static readonly byte[] s_b = [0x02, 0, 0, 0, 0, 2];

    [Fact]
    public void Checksum_Rfc1071Example()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2 (ones' complement 0x220d).
        Assert.Equal(0x220d, Packets.Checksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]));
    }

    [Fact]
    public void IcmpEcho_AnyDataAndNumbers_RoundTripsWithValidChecksums()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ArbMap.Default.ArbFor<ushort>(), ArbMap.Default.ArbFor<uint>(), (byte[] data, ushort seq, uint from) =>
        {
            data ??= [];
            byte[] icmp = Packets.IcmpEchoMessage(new IcmpEcho(Packets.IcmpEchoRequest, 0x4c47, seq, data));
            Assert.Equal(0, Packets.Checksum(icmp));
            byte[] frame = Packets.Ipv4Frame(s_b, s_a, from, ~from, Packets.ProtocolIcmp, seq, icmp);
            Assert.True(Packets.TryParseIpv4(frame, out Ipv4Packet ip, out _));
            Assert.Equal((from, ~from, Packets.ProtocolIcmp), (ip.Source, ip.Destination, ip.Protocol));
            Assert.True(Packets.TryParseIcmpEcho(ip.Payload, out IcmpEcho echo, out _));
            Assert.Equal((Packets.IcmpEchoRequest, (ushort)0x4c47, seq), (echo.Type, echo.Identifier, echo.Sequence));
            Assert.Equal(data, echo.Data);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Ipv4_AnyFlippedHeaderBit_IsRefused()
    {
        byte[] frame = Packets.Ipv4Frame(s_b, s_a, 0xa9fe0102, 0xa9fe0101, Packets.ProtocolIcmp, 7, Packets.IcmpEchoMessage(new IcmpEcho(8, 1, 1, new byte[8])));
        for (int bit = 0; bit < 20 * 8; bit++)
        {
            byte[] bad = (byte[])frame.Clone();
            bad[14 + (bit / 8)] ^= (byte)(1 << (bit % 8));
            Assert.False(Packets.TryParseIpv4(bad, out _, out _), $"bit {bit}");
        }
    }

    [Fact]
    public void Icmp_BadChecksum_Refused()
    {
        byte[] icmp = Packets.IcmpEchoMessage(new IcmpEcho(0, 1, 2, [1, 2, 3]));
        icmp[^1] ^= 1;
        Assert.False(Packets.TryParseIcmpEcho(icmp, out _, out string? problem));
        Assert.Equal("bad ICMP checksum", problem);
    }

    [Fact]
    public void Arp_RoundTrips()
    {
        var arp = new ArpPacket(Packets.ArpRequest, s_a, 0xa9fe0102, new byte[6], 0xa9fe0101);
        byte[] frame = Packets.ArpFrame(Packets.Broadcast, s_a, arp);
        Assert.Equal(42, frame.Length);
        Assert.Equal(0x0806, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
        Assert.True(Packets.TryParseArp(frame, out ArpPacket back));
        Assert.Equal((arp.Operation, arp.SenderIp, arp.TargetIp), (back.Operation, back.SenderIp, back.TargetIp));
        Assert.Equal(arp.SenderMac, back.SenderMac);
    }
}
