using LguestSim.Engine;
using LguestSim.Engine.Devices.Net;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Interop;
using LguestSim.Host.Waking;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Tap;

/// <summary>
/// A real tap interface behind the net device: <c>/dev/net/tun</c> in <c>IFF_TAP | IFF_NO_PI</c>
/// mode, given an IPv4 address and brought up, or attached to a bridge (spec §5.2). One
/// <c>readv</c> per received frame straight into the guest's buffers, one <c>writev</c> per
/// transmitted frame straight from them.
/// </summary>
/// <remarks>
/// <para>
/// Set-up follows lguest.c's <c>setup_tun_net()</c> step by step: open, <c>TUNSETIFF</c>,
/// <c>TUNSETNOCSUM</c> (result ignored), a configuration socket, then in bridge mode
/// <c>SIOCBRADDIF</c>, then <c>SIOCSIFADDR</c> (0.0.0.0 in bridge mode), up, and
/// <c>SIOCGIFHWADDR</c>. Every failure is a <see cref="LguestHostException"/> naming the step.
/// </para>
/// <para>
/// Netmask: none is set, as in lguest.c, so the kernel applies its classful default for the
/// address given to <c>SIOCSIFADDR</c> (a /16 for 169.254.x.y, /8 for 10.x.y.z, /24 for
/// 192.168.x.y) and adds the matching connected route. Anything else is the host's to set.
/// </para>
/// <para>
/// "Up" reads the interface flags and adds <c>IFF_UP</c>; lguest.c wrote <c>IFF_UP</c> alone,
/// which also cleared <c>IFF_MULTICAST</c>.
/// </para>
/// <para>
/// Fixed QUIRK (the guest's MAC): lguest.c offered the tap's own hardware address to the
/// guest, so both ends of the link had the same MAC. That works for a routed tap, and for
/// the bridge's own address, but not for anything else on a bridge: the bridge keeps the
/// tap's address as a local entry of its own, so a frame that another port sends to the
/// guest is delivered to the host and never forwarded to the tap (the guest cannot even
/// get an ARP reply from a neighbour). The guest is therefore offered the tap's address
/// with the low bit of its last byte flipped
/// (<see cref="GuestMacFor"/>): still unicast and locally administered like the kernel's
/// random tap address, stable for the tap's life, and never equal to it.
/// </para>
/// </remarks>
public sealed class TunTap : ITap, IDisposable
{
    private readonly SafeFileHandle _tun;
    private readonly byte[] _interfaceMac;
    private readonly byte[] _guestMac;
    private readonly FdInputSource _input;

    private TunTap(SafeFileHandle tun, string name, TunNetArgument argument, byte[] interfaceMac)
    {
        _tun = tun;
        Name = name;
        Argument = argument;
        _interfaceMac = interfaceMac;
        _guestMac = GuestMacFor(interfaceMac);
        _input = new FdInputSource(tun);
    }

    /// <summary>The interface name the kernel chose (e.g. tap0).</summary>
    public string Name { get; }

    /// <summary>What the tap was set up with.</summary>
    public TunNetArgument Argument { get; }

    /// <summary>The tap interface's own hardware address (the host end of the link).</summary>
    public ReadOnlySpan<byte> InterfaceAddress => _interfaceMac;

    /// <summary>The MAC offered to the guest (VIRTIO_NET_F_MAC): see the remarks on <see cref="TunTap"/>.</summary>
    public ReadOnlySpan<byte> HardwareAddress => _guestMac;

    /// <inheritdoc/>
    public InputSource Input => _input;

    /// <summary>Creates and configures a tap for <paramref name="argument"/>.</summary>
    /// <param name="argument">The parsed <c>--tunnet</c> value.</param>
    /// <param name="nameTemplate">The interface name, or a template with <c>%d</c> for the kernel to fill in.</param>
    /// <exception cref="LguestHostException">A step failed; the message names it and the errno.</exception>
    public static TunTap Open(TunNetArgument argument, string nameTemplate = "tap%d")
    {
        Check(Sys.OpenTun(out SafeFileHandle? tun), "cannot open /dev/net/tun");
        bool ok = false;
        try
        {
            Check(Sys.TunSetTap(tun!, nameTemplate, out string name), $"cannot create tap interface '{nameTemplate}' (TUNSETIFF)");

            // lguest.c ignores this one's result too; current kernels accept it and do nothing.
            _ = Sys.TunSetNoChecksum(tun!);

            byte[] mac = new byte[6];
            Check(Sys.OpenConfigSocket(out NetFdHandle socket), "cannot open the configuration socket");
            using (socket)
            {
                if (argument.IsBridge)
                {
                    int index = Sys.InterfaceIndex(name);
                    if (index <= 0)
                    {
                        throw new LguestHostException($"tap interface {name} not found", -index);
                    }

                    Check(Sys.AddToBridge(socket, argument.BridgeName, index), $"cannot add {name} to bridge {argument.BridgeName}");
                }

                Check(Sys.SetInterfaceAddress(socket, name, argument.Address), $"cannot set the address of {name} to {TunNetArgument.FormatAddress(argument.Address)}");
                Check(Sys.BringInterfaceUp(socket, name), $"cannot bring {name} up");
                Check(Sys.GetHardwareAddress(socket, name, mac), $"cannot get the hardware address of {name}");
            }

            var tap = new TunTap(tun!, name, argument, mac);
            ok = true;
            return tap;
        }
        finally
        {
            if (!ok)
            {
                // Closing the fd removes the (non-persistent) interface again.
                tun?.Dispose();
            }
        }
    }

    /// <summary>The guest's MAC for a tap whose own address is <paramref name="interfaceMac"/>: the low bit of the last byte flipped.</summary>
    public static byte[] GuestMacFor(ReadOnlySpan<byte> interfaceMac)
    {
        byte[] mac = interfaceMac[..6].ToArray();
        mac[5] ^= 0x01;
        return mac;
    }

    /// <inheritdoc/>
    /// <remarks>One <c>readv</c>: one frame, truncated by the kernel if longer than the buffers.</remarks>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => GuestStreamIo.ReadOnce(_tun, memory, buffers);

    /// <inheritdoc/>
    /// <remarks>One <c>writev</c>: the buffers are one frame.</remarks>
    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers) => GuestStreamIo.WriteOnce(_tun, memory, buffers);

    /// <summary>Closes the tun fd; the kernel then removes the interface (and detaches it from a bridge).</summary>
    public void Dispose() => _tun.Dispose();

    private static void Check(int result, string operation)
    {
        if (result < 0)
        {
            throw new LguestHostException(operation, -result);
        }
    }
}
