using System.Buffers.Binary;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>
/// AF_PACKET raw sockets bound to one interface (<c>packet(7)</c>): the host side of a tap as
/// seen from inside the network namespace, for playing a scenario's frames on a real tap.
/// Each call returns a count or 0, or a negative errno read right after the call.
/// </summary>
internal static partial class Sys
{
    // <linux/if_ether.h>, <linux/if_packet.h>, <sys/socket.h>
    private const int AF_PACKET = 17;
    private const ushort ETH_P_ALL = 0x0003;

    /// <summary><c>sll_pkttype</c> of a frame this host sent out of the interface.</summary>
    internal const byte PACKET_OUTGOING = 4;

    /// <summary><c>sizeof(struct sockaddr_ll)</c>.</summary>
    private const int SockaddrLlSize = 20;

    // Offsets in struct sockaddr_ll.
    private const int SllFamily = 0;    // unsigned short
    private const int SllProtocol = 2;  // __be16
    private const int SllIfindex = 4;   // int
    private const int SllPkttype = 10;  // unsigned char

    /// <summary>
    /// <c>socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)</c>, then <c>bind</c> to
    /// <paramref name="ifindex"/> with protocol ETH_P_ALL: 0 or a negative errno.
    /// </summary>
    /// <remarks>
    /// Protocol 0 at <c>socket</c> receives nothing; the <c>bind</c> starts reception on this
    /// interface only. A socket opened with ETH_P_ALL would queue frames of every interface
    /// until the bind.
    /// </remarks>
    internal static unsafe int OpenPacketSocket(int ifindex, out NetFdHandle handle)
    {
        handle = new NetFdHandle();
        int fd = LibC.socket(AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.errno;
            handle.Dispose();
            return -errno;
        }

        handle.Adopt(fd);
        byte* sll = stackalloc byte[SockaddrLlSize];
        var address = new Span<byte>(sll, SockaddrLlSize);
        address.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(address[SllFamily..], AF_PACKET);
        BinaryPrimitives.WriteUInt16BigEndian(address[SllProtocol..], ETH_P_ALL);
        BinaryPrimitives.WriteInt32LittleEndian(address[SllIfindex..], ifindex);

        // SAFETY: sll is a 20-byte struct sockaddr_ll on this stack frame, alive for the call.
        if (LibC.bind(fd, (sockaddr*)sll, SockaddrLlSize) < 0)
        {
            int errno = LibC.errno;
            handle.Dispose();
            return -errno;
        }

        return 0;
    }

    /// <summary><c>send(fd, frame, len, 0)</c> on a bound packet socket: bytes sent, or a negative errno.</summary>
    internal static unsafe long PacketSend(NetFdHandle socket, ReadOnlySpan<byte> frame)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);

            // SAFETY: p points at the caller's frame, pinned for the call; the kernel reads frame.Length bytes.
            fixed (byte* p = frame)
            {
                long n = LibC.send(socket.Fd, p, (size_t)(ulong)frame.Length, 0);
                return n < 0 ? -LibC.errno : n;
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// <c>recvfrom(fd, buffer, len, MSG_DONTWAIT | MSG_TRUNC, &amp;sll, &amp;len)</c>: the frame's
    /// full length (more than the buffer when truncated), or a negative errno (EAGAIN: none
    /// waiting); <paramref name="packetType"/> is its <c>sll_pkttype</c>.
    /// </summary>
    internal static unsafe long PacketReceive(NetFdHandle socket, Span<byte> buffer, out byte packetType)
    {
        packetType = 0;
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            byte* sll = stackalloc byte[SockaddrLlSize];
            socklen_t length = SockaddrLlSize;

            // SAFETY: p points at the caller's buffer, pinned for the call, and the kernel writes
            // at most buffer.Length bytes there; sll and length live on this stack frame.
            fixed (byte* p = buffer)
            {
                long n = LibC.recvfrom(socket.Fd, p, (size_t)(ulong)buffer.Length, LibC.MSG_DONTWAIT | LibC.MSG_TRUNC, (sockaddr*)sll, &length);
                if (n < 0)
                {
                    return -LibC.errno;
                }

                packetType = sll[SllPkttype];
                return n;
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }
}
