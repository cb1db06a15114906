using LguestSim.Backends.Simulated.Guest;
using static LguestSim.Backends.Simulated.Guest.Ip.Packets;

namespace LguestSim.Backends.Simulated.Guest.Ip;

/// <summary>
/// Just enough IPv4 for the simulated guest to talk to a real kernel over the net device:
/// ARP (ask, answer requests for its own address, remember replies) and ICMP echo (ping,
/// and answer pings). It runs on the guest's thread, over <see cref="NetDriver"/>, and only
/// while a scenario step is waiting for something, as a guest kernel's softirq would.
/// </summary>
/// <remarks>
/// Every frame it sends or takes is written to the transcript, and every reply is checked:
/// the IPv4 header checksum, the ICMP checksum, the echo identifier, a sequence number
/// that is still outstanding, and data identical to what was sent. A failed check ends the
/// scenario through the fail callback the caller passes.
/// </remarks>
public sealed class GuestIpStack
{
    /// <summary>The ICMP echo identifier of the guest's pings ("LG").</summary>
    public const ushort EchoIdentifier = 0x4c47;

    private readonly GuestContext _guest;
    private readonly NetDriver _net;
    private readonly Dictionary<uint, byte[]> _neighbours = new();
    private readonly SortedDictionary<ushort, (uint Target, byte[] Data)> _awaiting = new();
    private ushort _nextSequence = 1;
    private ushort _nextIpId = 1;
    private uint? _arpAwaited;

    /// <summary>Creates the stack over <paramref name="net"/>.</summary>
    public GuestIpStack(GuestContext guest, NetDriver net)
    {
        _guest = guest;
        _net = net;
    }

    /// <summary>The guest's own IPv4 address (host order), 0 until a step gives one.</summary>
    public uint Address { get; private set; }

    /// <summary>Echo requests sent whose replies have not arrived.</summary>
    public int Outstanding => _awaiting.Count;

    /// <summary>
    /// Sends an ARP request for <paramref name="target"/> from <paramref name="from"/> and
    /// waits for the reply, remembering the MAC. <paramref name="from"/> 0.0.0.0 makes it an
    /// ARP probe (RFC 5227): the other side answers without learning the guest's address.
    /// </summary>
    public void Arp(uint target, uint from, Action<string> fail)
    {
        if (from != 0)
        {
            Address = from;
        }

        _neighbours.Remove(target);
        _arpAwaited = target;
        Line($"arp request who-has {FormatAddress(target)} tell {FormatAddress(from)}{(from == 0 ? " (probe)" : string.Empty)}");
        _net.Send(ArpFrame(Broadcast, _net.Mac, new ArpPacket(ArpRequest, _net.Mac, from, new byte[6], target)));
        WaitFor(() => _neighbours.ContainsKey(target), fail);
        _arpAwaited = null;
    }

    /// <summary>
    /// Sends <paramref name="count"/> ICMP echo requests of <paramref name="size"/> data bytes
    /// to <paramref name="target"/> (resolving its MAC first if needed). With
    /// <paramref name="wait"/>, each reply is awaited before the next request; without, the
    /// requests go out back to back and <see cref="WaitForReplies"/> collects the replies.
    /// </summary>
    public void Ping(uint target, uint from, int count, int size, bool wait, Action<string> fail)
    {
        Address = from;
        if (!_neighbours.TryGetValue(target, out byte[]? mac))
        {
            Arp(target, from, fail);
            mac = _neighbours[target];
        }

        for (int i = 0; i < count; i++)
        {
            ushort sequence = _nextSequence++;
            byte[] data = EchoData(sequence, size);
            _awaiting.Add(sequence, (target, data));
            Line($"icmp echo request {FormatAddress(from)} > {FormatAddress(target)} id={Hex16(EchoIdentifier)} seq={sequence} len={size}");
            byte[] icmp = IcmpEchoMessage(new IcmpEcho(IcmpEchoRequest, EchoIdentifier, sequence, data));
            _net.Send(Ipv4Frame(mac, _net.Mac, from, target, ProtocolIcmp, _nextIpId++, icmp));
            if (wait)
            {
                WaitFor(() => !_awaiting.ContainsKey(sequence), fail);
            }
        }
    }

    /// <summary>Waits until every echo request sent has its reply.</summary>
    public void WaitForReplies(Action<string> fail) => WaitFor(() => _awaiting.Count == 0, fail);

    /// <summary>The data of echo request <paramref name="sequence"/>: a pattern that differs per request.</summary>
    private static byte[] EchoData(ushort sequence, int size)
    {
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++)
        {
            data[i] = (byte)(i + (sequence * 7));
        }

        return data;
    }

    /// <summary>Handles received frames until <paramref name="done"/> holds, halting when there are none.</summary>
    private void WaitFor(Func<bool> done, Action<string> fail)
    {
        while (true)
        {
            while (_net.TryReceive(out byte[] frame))
            {
                Handle(frame, fail);
            }

            if (done())
            {
                return;
            }

            _guest.WaitUntil(_net.Device, () => _net.Pending > 0);
        }
    }

    private void Handle(byte[] frame, Action<string> fail)
    {
        if (TryParseArp(frame, out ArpPacket arp))
        {
            HandleArp(arp);
            return;
        }

        if (TryParseIpv4(frame, out Ipv4Packet ip, out string? problem))
        {
            HandleIpv4(frame, ip, fail);
            return;
        }

        Line(problem is null ? $"ignored frame type={Transcript.Transcript.Hex((ulong)EtherType(frame))}" : $"dropped frame: {problem}");
    }

    private void HandleArp(ArpPacket arp)
    {
        if (arp.Operation == ArpRequest)
        {
            if (Address == 0 || arp.TargetIp != Address)
            {
                Line($"arp request who-has {FormatAddress(arp.TargetIp)} tell {FormatAddress(arp.SenderIp)} (not us)");
                return;
            }

            // Answer, and learn the asker as Linux does (an ARP probe teaches nothing).
            Line($"arp request who-has {FormatAddress(arp.TargetIp)} tell {FormatAddress(arp.SenderIp)} from {NetDriver.FormatMac(arp.SenderMac)}");
            if (arp.SenderIp != 0)
            {
                _neighbours[arp.SenderIp] = arp.SenderMac;
            }

            Line($"arp reply {FormatAddress(Address)} is-at {NetDriver.FormatMac(_net.Mac)} to {FormatAddress(arp.SenderIp)}");
            _net.Send(ArpFrame(arp.SenderMac, _net.Mac, new ArpPacket(ArpReply, _net.Mac, Address, arp.SenderMac, arp.SenderIp)));
            return;
        }

        if (arp.Operation == ArpReply)
        {
            Line($"arp reply {FormatAddress(arp.SenderIp)} is-at {NetDriver.FormatMac(arp.SenderMac)}");
            if (arp.SenderIp == _arpAwaited || _neighbours.ContainsKey(arp.SenderIp))
            {
                _neighbours[arp.SenderIp] = arp.SenderMac;
            }

            return;
        }

        Line($"arp operation {arp.Operation} ignored");
    }

    private void HandleIpv4(byte[] frame, Ipv4Packet ip, Action<string> fail)
    {
        string route = $"{FormatAddress(ip.Source)} > {FormatAddress(ip.Destination)}";
        if (ip.Destination != Address)
        {
            Line($"ipv4 {route} protocol {ip.Protocol} ignored (not us)");
            return;
        }

        if (ip.Protocol != ProtocolIcmp)
        {
            Line($"ipv4 {route} protocol {ip.Protocol} ignored");
            return;
        }

        if (!TryParseIcmpEcho(ip.Payload, out IcmpEcho echo, out string? problem))
        {
            Line($"icmp {route} dropped: {problem}");
            if (problem == "bad ICMP checksum")
            {
                fail($"ICMP message from {FormatAddress(ip.Source)} with a bad checksum");
            }

            return;
        }

        string what = $"{route} id={Hex16(echo.Identifier)} seq={echo.Sequence} len={echo.Data.Length}";
        if (echo.Type == IcmpEchoRequest)
        {
            // Answer to the sender's MAC, with the request's identifier, sequence and data.
            Line($"icmp echo request {what} ttl={ip.Ttl}");
            Line($"icmp echo reply {FormatAddress(Address)} > {FormatAddress(ip.Source)} id={Hex16(echo.Identifier)} seq={echo.Sequence} len={echo.Data.Length}");
            byte[] reply = IcmpEchoMessage(echo with { Type = IcmpEchoReply });
            _net.Send(Ipv4Frame(frame.AsSpan(6, 6), _net.Mac, Address, ip.Source, ProtocolIcmp, _nextIpId++, reply));
            return;
        }

        Line($"icmp echo reply {what} ttl={ip.Ttl}");
        if (echo.Identifier != EchoIdentifier || !_awaiting.TryGetValue(echo.Sequence, out (uint Target, byte[] Data) sent))
        {
            fail($"unexpected echo reply id={Hex16(echo.Identifier)} seq={echo.Sequence} (none outstanding)");
            return;
        }

        if (ip.Source != sent.Target || !echo.Data.AsSpan().SequenceEqual(sent.Data))
        {
            fail($"echo reply seq={echo.Sequence} does not match its request (source {FormatAddress(ip.Source)}, {echo.Data.Length} data bytes)");
            return;
        }

        _awaiting.Remove(echo.Sequence);
    }

    private void Line(string text) => _guest.Transcript.Line("guest: ip " + text);
}
