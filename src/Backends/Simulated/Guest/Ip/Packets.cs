using System.Buffers.Binary;
using System.Globalization;

namespace LguestSim.Backends.Simulated.Guest.Ip;

/// <summary>An ARP packet for IPv4 over Ethernet (RFC 826).</summary>
/// <param name="Operation">1 request, 2 reply.</param>
/// <param name="SenderMac">sha.</param>
/// <param name="SenderIp">spa (host order).</param>
/// <param name="TargetMac">tha.</param>
/// <param name="TargetIp">tpa (host order).</param>
public sealed record ArpPacket(ushort Operation, byte[] SenderMac, uint SenderIp, byte[] TargetMac, uint TargetIp);

/// <summary>An IPv4 datagram, header checked.</summary>
/// <param name="Source">Source address (host order).</param>
/// <param name="Destination">Destination address (host order).</param>
/// <param name="Protocol">1 for ICMP.</param>
/// <param name="Ttl">Time to live.</param>
/// <param name="Payload">The bytes after the header, up to the total length.</param>
public sealed record Ipv4Packet(uint Source, uint Destination, byte Protocol, byte Ttl, byte[] Payload);

/// <summary>An ICMP echo request (type 8) or reply (type 0).</summary>
/// <param name="Type">8 request, 0 reply.</param>
/// <param name="Identifier">Echo identifier.</param>
/// <param name="Sequence">Echo sequence number.</param>
/// <param name="Data">The echo data.</param>
public sealed record IcmpEcho(byte Type, ushort Identifier, ushort Sequence, byte[] Data);

/// <summary>
/// Building and parsing the few frames the simulated guest's IPv4 needs: Ethernet II, ARP,
/// IPv4 (no options, no fragments) and ICMP echo, with the Internet checksum (RFC 1071).
/// Multi-byte fields are big-endian (network order) on the wire.
/// </summary>
public static class Packets
{
    /// <summary>Ethernet header size.</summary>
    public const int EthernetHeaderSize = 14;

    /// <summary>EtherType of IPv4.</summary>
    public const ushort EtherTypeIpv4 = 0x0800;

    /// <summary>EtherType of ARP.</summary>
    public const ushort EtherTypeArp = 0x0806;

    /// <summary>ARP request.</summary>
    public const ushort ArpRequest = 1;

    /// <summary>ARP reply.</summary>
    public const ushort ArpReply = 2;

    /// <summary>IP protocol number of ICMP.</summary>
    public const byte ProtocolIcmp = 1;

    /// <summary>ICMP echo reply.</summary>
    public const byte IcmpEchoReply = 0;

    /// <summary>ICMP echo request.</summary>
    public const byte IcmpEchoRequest = 8;

    private const int ArpSize = 28;
    private const int Ipv4HeaderSize = 20;
    private const int IcmpEchoHeaderSize = 8;

    /// <summary>The Ethernet broadcast address.</summary>
    public static ReadOnlySpan<byte> Broadcast => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    /// <summary>The EtherType of <paramref name="frame"/>, or -1 if it is too short.</summary>
    public static int EtherType(ReadOnlySpan<byte> frame) =>
        frame.Length < EthernetHeaderSize ? -1 : BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);

    /// <summary>An Ethernet frame carrying an ARP packet (42 bytes: no padding, as a driver hands it over).</summary>
    public static byte[] ArpFrame(ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, ArpPacket arp)
    {
        byte[] frame = new byte[EthernetHeaderSize + ArpSize];
        WriteEthernet(frame, destination, source, EtherTypeArp);
        Span<byte> p = frame.AsSpan(EthernetHeaderSize);
        BinaryPrimitives.WriteUInt16BigEndian(p, 1);                 // htype: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], EtherTypeIpv4); // ptype
        p[4] = 6;
        p[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(p[6..], arp.Operation);
        arp.SenderMac.CopyTo(p[8..]);
        BinaryPrimitives.WriteUInt32BigEndian(p[14..], arp.SenderIp);
        arp.TargetMac.CopyTo(p[18..]);
        BinaryPrimitives.WriteUInt32BigEndian(p[24..], arp.TargetIp);
        return frame;
    }

    /// <summary>Parses an ARP-for-IPv4-over-Ethernet frame.</summary>
    public static bool TryParseArp(ReadOnlySpan<byte> frame, out ArpPacket arp)
    {
        arp = null!;
        if (EtherType(frame) != EtherTypeArp || frame.Length < EthernetHeaderSize + ArpSize)
        {
            return false;
        }

        ReadOnlySpan<byte> p = frame[EthernetHeaderSize..];
        if (BinaryPrimitives.ReadUInt16BigEndian(p) != 1 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != EtherTypeIpv4 || p[4] != 6 || p[5] != 4)
        {
            return false;
        }

        arp = new ArpPacket(
            BinaryPrimitives.ReadUInt16BigEndian(p[6..]),
            p.Slice(8, 6).ToArray(),
            BinaryPrimitives.ReadUInt32BigEndian(p[14..]),
            p.Slice(18, 6).ToArray(),
            BinaryPrimitives.ReadUInt32BigEndian(p[24..]));
        return true;
    }

    /// <summary>An Ethernet frame carrying an IPv4 datagram (DF set, no options) with a correct header checksum.</summary>
    public static byte[] Ipv4Frame(ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, uint from, uint to, byte protocol, ushort identification, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[EthernetHeaderSize + Ipv4HeaderSize + payload.Length];
        WriteEthernet(frame, destination, source, EtherTypeIpv4);
        Span<byte> h = frame.AsSpan(EthernetHeaderSize, Ipv4HeaderSize);
        h[0] = 0x45; // version 4, 5 words
        h[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(Ipv4HeaderSize + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], identification);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], 0x4000); // DF
        h[8] = 64;
        h[9] = protocol;
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], from);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], to);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksum(h));
        payload.CopyTo(frame.AsSpan(EthernetHeaderSize + Ipv4HeaderSize));
        return frame;
    }

    /// <summary>Parses an IPv4 frame; <paramref name="problem"/> says why a frame of type IPv4 was refused.</summary>
    public static bool TryParseIpv4(ReadOnlySpan<byte> frame, out Ipv4Packet packet, out string? problem)
    {
        packet = null!;
        problem = null;
        if (EtherType(frame) != EtherTypeIpv4)
        {
            return false;
        }

        ReadOnlySpan<byte> ip = frame[EthernetHeaderSize..];
        if (ip.Length < Ipv4HeaderSize || ip[0] >> 4 != 4)
        {
            problem = "not an IPv4 header";
            return false;
        }

        int headerLength = (ip[0] & 0xf) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerLength < Ipv4HeaderSize || total < headerLength || total > ip.Length)
        {
            problem = $"bad IPv4 lengths (header {headerLength}, total {total}, frame {ip.Length})";
            return false;
        }

        if (Checksum(ip[..headerLength]) != 0)
        {
            problem = "bad IPv4 header checksum";
            return false;
        }

        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3fff) != 0)
        {
            problem = "IPv4 fragment";
            return false;
        }

        packet = new Ipv4Packet(
            BinaryPrimitives.ReadUInt32BigEndian(ip[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(ip[16..]),
            ip[9],
            ip[8],
            ip[headerLength..total].ToArray());
        return true;
    }

    /// <summary>An ICMP echo message with a correct checksum.</summary>
    public static byte[] IcmpEchoMessage(IcmpEcho echo)
    {
        byte[] m = new byte[IcmpEchoHeaderSize + echo.Data.Length];
        m[0] = echo.Type;
        m[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), echo.Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), echo.Sequence);
        echo.Data.CopyTo(m, IcmpEchoHeaderSize);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum(m));
        return m;
    }

    /// <summary>Parses an ICMP echo request or reply; <paramref name="problem"/> says why an ICMP message was refused.</summary>
    public static bool TryParseIcmpEcho(ReadOnlySpan<byte> message, out IcmpEcho echo, out string? problem)
    {
        echo = null!;
        problem = null;
        if (message.Length < IcmpEchoHeaderSize)
        {
            problem = "short ICMP message";
            return false;
        }

        if (Checksum(message) != 0)
        {
            problem = "bad ICMP checksum";
            return false;
        }

        if (message[0] is not (IcmpEchoReply or IcmpEchoRequest) || message[1] != 0)
        {
            problem = $"ICMP type {message[0]} code {message[1]}";
            return false;
        }

        echo = new IcmpEcho(message[0], BinaryPrimitives.ReadUInt16BigEndian(message[4..]), BinaryPrimitives.ReadUInt16BigEndian(message[6..]), message[IcmpEchoHeaderSize..].ToArray());
        return true;
    }

    /// <summary>
    /// The Internet checksum: the ones' complement of the ones' complement sum of the 16-bit
    /// big-endian words (an odd last byte padded with zero). Over data that includes a
    /// correct checksum field it is 0.
    /// </summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    /// <summary>Parses a dotted quad into a host-order address.</summary>
    public static bool TryParseAddress(string text, out uint address) =>
        Engine.Devices.Net.TunNetArgument.TryParseDottedQuad(text, out address, out _);

    /// <summary>Formats a host-order address as a dotted quad.</summary>
    public static string FormatAddress(uint address) => Engine.Devices.Net.TunNetArgument.FormatAddress(address);

    /// <summary>A 16-bit value as 0x-prefixed hex.</summary>
    public static string Hex16(ushort value) => "0x" + value.ToString("x4", CultureInfo.InvariantCulture);

    private static void WriteEthernet(Span<byte> frame, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> source, ushort etherType)
    {
        destination[..6].CopyTo(frame);
        source[..6].CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
    }
}
