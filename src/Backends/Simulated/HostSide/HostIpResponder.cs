using LguestSim.Backends.Simulated.Guest;
using LguestSim.Backends.Simulated.Guest.Ip;
using static LguestSim.Backends.Simulated.Guest.Ip.Packets;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.HostSide;

/// <summary>
/// The host kernel's side of an in-memory tap, in miniature: it owns one IPv4 address and
/// answers ARP and ICMP echo the way Linux does, so that the guest's <c>net.arp</c> and
/// <c>net.ping</c> give the same conversation as over a real tap, deterministically.
/// </summary>
/// <remarks>
/// As in Linux: an ARP request for its address is answered to the asker's MAC, and teaches
/// it the asker's address unless the request is a probe (sender 0.0.0.0); an echo request
/// is answered at once if the sender's MAC is known, else the host sends its own ARP
/// request and answers once the guest replies. It runs inside the tap's write, on the
/// Launcher's thread, while the guest waits for its kick to return.
/// </remarks>
public sealed class HostIpResponder
{
    private readonly uint _address;
    private readonly byte[] _mac;
    private readonly T _transcript;
    private readonly Action<byte[]> _send;
    private readonly Dictionary<uint, byte[]> _neighbours = new();
    private readonly List<(uint To, byte[] Icmp)> _waitingForArp = new();
    private ushort _nextIpId = 1;

    /// <summary>Answers for <paramref name="address"/> with <paramref name="mac"/>; <paramref name="send"/> delivers a frame to the guest.</summary>
    public HostIpResponder(uint address, byte[] mac, T transcript, Action<byte[]> send)
    {
        _address = address;
        _mac = mac;
        _transcript = transcript;
        _send = send;
    }

    /// <summary>Takes a frame the guest sent; false when it is not for this host (it then stays in the tap for host.net.expect).</summary>
    public bool TryHandle(byte[] frame)
    {
        if (TryParseArp(frame, out ArpPacket arp) && arp.TargetIp == _address)
        {
            HandleArp(arp);
            return true;
        }

        if (TryParseIpv4(frame, out Ipv4Packet ip, out _) && ip.Destination == _address)
        {
            HandleIpv4(frame, ip);
            return true;
        }

        return false;
    }

    private void HandleArp(ArpPacket arp)
    {
        if (arp.Operation == ArpRequest)
        {
            if (arp.SenderIp != 0)
            {
                _neighbours[arp.SenderIp] = arp.SenderMac;
            }

            Line($"arp reply {FormatAddress(_address)} is-at {NetDriver.FormatMac(_mac)} to {FormatAddress(arp.SenderIp)}");
            _send(ArpFrame(arp.SenderMac, _mac, new ArpPacket(ArpReply, _mac, _address, arp.SenderMac, arp.SenderIp)));
            return;
        }

        if (arp.Operation == ArpReply)
        {
            Line($"arp learnt {FormatAddress(arp.SenderIp)} is-at {NetDriver.FormatMac(arp.SenderMac)}");
            _neighbours[arp.SenderIp] = arp.SenderMac;
            foreach ((uint to, byte[] icmp) in _waitingForArp.Where(p => p.To == arp.SenderIp).ToList())
            {
                _waitingForArp.Remove((to, icmp));
                SendIcmp(to, icmp);
            }
        }
    }

    private void HandleIpv4(byte[] frame, Ipv4Packet ip)
    {
        if (ip.Protocol != ProtocolIcmp || !TryParseIcmpEcho(ip.Payload, out IcmpEcho echo, out _) || echo.Type != IcmpEchoRequest)
        {
            Line($"ipv4 from {FormatAddress(ip.Source)} protocol {ip.Protocol} dropped");
            return;
        }

        byte[] reply = IcmpEchoMessage(echo with { Type = IcmpEchoReply });
        if (_neighbours.ContainsKey(ip.Source))
        {
            SendIcmp(ip.Source, reply);
            return;
        }

        // Like the kernel: the reply waits in the neighbour queue while the host asks.
        _waitingForArp.Add((ip.Source, reply));
        Line($"arp request who-has {FormatAddress(ip.Source)} tell {FormatAddress(_address)}");
        _send(ArpFrame(Broadcast, _mac, new ArpPacket(ArpRequest, _mac, _address, new byte[6], ip.Source)));
    }

    private void SendIcmp(uint to, byte[] icmp)
    {
        TryParseIcmpEcho(icmp, out IcmpEcho echo, out _);
        Line($"icmp echo reply {FormatAddress(_address)} > {FormatAddress(to)} id={Hex16(echo.Identifier)} seq={echo.Sequence} len={echo.Data.Length}");
        _send(Ipv4Frame(_neighbours[to], _mac, _address, to, ProtocolIcmp, _nextIpId++, icmp));
    }

    private void Line(string text) => _transcript.Line("host: ip " + text);
}
