using System.Diagnostics;
using System.Runtime.InteropServices;
using LguestSim.Engine;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Tap;

/// <summary>
/// A raw AF_PACKET socket bound to one interface of this network namespace: the far end of a
/// tap, as a scenario's host plays it. A frame sent on it goes out of the tap interface, that
/// is to the tap's reader (the Launcher, hence the guest); a frame the tap's reader writes
/// comes in on the interface and is received here.
/// </summary>
/// <remarks>
/// The socket sees both directions, except its own sends, which the kernel never loops back
/// to the socket they came from; <see cref="TryReceiveIncoming"/> skips frames whose
/// <c>sll_pkttype</c> is <c>PACKET_OUTGOING</c> (anything else this host sent out of the
/// interface), leaving what the tap's reader wrote. Frames are queued from the moment the
/// socket is open, so open it before the traffic it must catch.
/// </remarks>
public sealed class PacketSocket : IDisposable
{
    /// <summary>Largest frame kept whole (the interface MTU is far below it).</summary>
    private const int MaxFrame = 65536;
    private const int EAGAIN = 11;
    private const int EINTR = 4;

    private readonly NetFdHandle _socket;
    private readonly byte[] _buffer = new byte[MaxFrame];

    private PacketSocket(NetFdHandle socket, string name, int index)
    {
        _socket = socket;
        InterfaceName = name;
        InterfaceIndex = index;
    }

    /// <summary>The interface the socket is bound to.</summary>
    public string InterfaceName { get; }

    /// <summary>Its interface index.</summary>
    public int InterfaceIndex { get; }

    /// <summary>Opens a packet socket bound to interface <paramref name="interfaceName"/> (all protocols).</summary>
    /// <exception cref="LguestHostException">No such interface, or the socket cannot be opened (needs CAP_NET_RAW).</exception>
    public static PacketSocket Open(string interfaceName)
    {
        int index = Sys.InterfaceIndex(interfaceName);
        if (index <= 0)
        {
            throw new LguestHostException($"interface {interfaceName} not found", -index);
        }

        int rc = Sys.OpenPacketSocket(index, out NetFdHandle socket);
        if (rc < 0)
        {
            throw new LguestHostException($"cannot open a packet socket on {interfaceName}", -rc);
        }

        return new PacketSocket(socket, interfaceName, index);
    }

    /// <summary>Sends one Ethernet frame out of the interface.</summary>
    /// <exception cref="LguestHostException">The send failed (e.g. ENETDOWN: the interface is down).</exception>
    public void Send(ReadOnlySpan<byte> frame)
    {
        long n = Sys.PacketSend(_socket, frame);
        if (n < 0)
        {
            throw new LguestHostException($"cannot send a {frame.Length}-byte frame on {InterfaceName}", (int)-n);
        }

        if (n != frame.Length)
        {
            throw new LguestHostException($"short send on {InterfaceName}: {n} of {frame.Length} bytes", 0);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the next frame that came in on the interface
    /// (not one this host sent out), and takes it.
    /// </summary>
    /// <returns>False when none came in time.</returns>
    /// <exception cref="LguestHostException">Waiting or receiving failed.</exception>
    public bool TryReceiveIncoming(TimeSpan timeout, out byte[] frame)
    {
        var clock = Stopwatch.StartNew();
        Span<bool> readable = stackalloc bool[1];
        ReadOnlySpan<SafeHandle> handles = [_socket];
        while (true)
        {
            long n = Sys.PacketReceive(_socket, _buffer, out byte packetType);
            if (n >= 0)
            {
                if (packetType == Sys.PACKET_OUTGOING)
                {
                    continue;
                }

                frame = _buffer.AsSpan(0, (int)Math.Min(n, MaxFrame)).ToArray();
                return true;
            }

            if (n != -EAGAIN && n != -EINTR)
            {
                throw new LguestHostException($"cannot receive on {InterfaceName}", (int)-n);
            }

            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                frame = [];
                return false;
            }

            int rc = Sys.PollReadable(handles, readable, (int)Math.Ceiling(left.TotalMilliseconds));
            if (rc < 0 && rc != -EINTR)
            {
                throw new LguestHostException($"cannot wait for a frame on {InterfaceName}", -rc);
            }
        }
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose() => _socket.Dispose();
}
