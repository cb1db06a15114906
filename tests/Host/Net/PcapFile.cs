using System.Buffers.Binary;
using System.Globalization;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// A small reader for classic pcap files, written here from the format description (not
/// with the writer's code), plus a one-line summary of the frames a net test sends:
/// ARP requests and replies and ICMP echo, with both checksums verified.
/// </summary>
public sealed class PcapFile
{
    private PcapFile(uint snapLength, uint linkType, IReadOnlyList<byte[]> frames)
    {
        SnapLength = snapLength;
        LinkType = linkType;
        Frames = frames;
    }

    public uint SnapLength { get; }

    public uint LinkType { get; }

    public IReadOnlyList<byte[]> Frames { get; }

    /// <summary>Reads the file; throws <see cref="InvalidDataException"/> if it is not a well-formed classic pcap.</summary>
    public static PcapFile Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 24)
        {
            throw new InvalidDataException("shorter than a pcap file header");
        }

        bool little = BinaryPrimitives.ReadUInt32LittleEndian(bytes) == 0xa1b2c3d4;
        if (!little && BinaryPrimitives.ReadUInt32BigEndian(bytes) != 0xa1b2c3d4)
        {
            throw new InvalidDataException("not a microsecond pcap magic number");
        }

        uint U32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
        ushort U16(int at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at));
        if (U16(4) != 2 || U16(6) != 4)
        {
            throw new InvalidDataException($"version {U16(4)}.{U16(6)}, not 2.4");
        }

        var frames = new List<byte[]>();
        int at = 24;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 16)
            {
                throw new InvalidDataException($"truncated record header at {at}");
            }

            uint usec = U32(at + 4);
            uint included = U32(at + 8);
            uint original = U32(at + 12);
            if (usec >= 1_000_000 || included > original || included > U32(16) || bytes.Length - at - 16 < included)
            {
                throw new InvalidDataException($"bad record at {at}");
            }

            frames.Add(bytes.AsSpan(at + 16, (int)included).ToArray());
            at += 16 + (int)included;
        }

        return new PcapFile(U32(16), U32(20), frames);
    }

    /// <summary>
    /// "arp request 169.254.1.1 tell 0.0.0.0", "arp reply 169.254.1.1", "icmp echo request
    /// 169.254.1.2 > 169.254.1.1 seq=1" (and reply), or "other ..." for anything else. A
    /// bad checksum makes it "bad ...".
    /// </summary>
    public static string Describe(byte[] f)
    {
        if (f.Length < 14)
        {
            return "other short";
        }

        int type = (f[12] << 8) | f[13];
        if (type == 0x0806 && f.Length >= 42)
        {
            int op = (f[20] << 8) | f[21];
            string spa = Ip(f, 28);
            string tpa = Ip(f, 38);
            return op switch
            {
                1 => $"arp request {tpa} tell {spa}",
                2 => $"arp reply {spa}",
                _ => $"other arp op {op}",
            };
        }

        if (type == 0x0800 && f.Length >= 34 && f[23] == 1)
        {
            int ihl = (f[14] & 0xf) * 4;
            int total = (f[16] << 8) | f[17];
            if (Checksum(f.AsSpan(14, ihl)) != 0)
            {
                return "bad ipv4 header checksum";
            }

            ReadOnlySpan<byte> icmp = f.AsSpan(14 + ihl, total - ihl);
            if (Checksum(icmp) != 0)
            {
                return "bad icmp checksum";
            }

            string kind = icmp[0] switch { 8 => "request", 0 => "reply", _ => $"type {icmp[0]}" };
            int seq = (icmp[6] << 8) | icmp[7];
            return $"icmp echo {kind} {Ip(f, 26)} > {Ip(f, 30)} seq={seq.ToString(CultureInfo.InvariantCulture)}";
        }

        return $"other type=0x{type:x4}";
    }

    /// <summary>Every IPv4 address a frame carries (ARP sender/target, IPv4 source/destination).</summary>
    public static IEnumerable<byte[]> Addresses(byte[] f)
    {
        int type = f.Length >= 14 ? (f[12] << 8) | f[13] : -1;
        if (type == 0x0806 && f.Length >= 42)
        {
            yield return f[28..32];
            yield return f[38..42];
        }
        else if (type == 0x0800 && f.Length >= 34)
        {
            yield return f[26..30];
            yield return f[30..34];
        }
    }

    private static string Ip(byte[] f, int at) => $"{f[at]}.{f[at + 1]}.{f[at + 2]}.{f[at + 3]}";

    private static int Checksum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0);
        }

        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (int)(~sum & 0xffff);
    }
}
