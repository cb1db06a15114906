using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>
/// The tun/tap and interface ioctls of lguest.c's <c>setup_tun_net()</c> (spec §5.2). Each
/// returns 0 or a negative errno read right after the call; the tap layer above turns a
/// failure into an exception naming what it was doing.
/// </summary>
internal static partial class Sys
{
    // <linux/if_tun.h>
    private const int TUNSETNOCSUM = 0x400454C8;
    private const int TUNSETIFF = 0x400454CA;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;

    // <linux/sockios.h>
    private const int SIOCGIFFLAGS = 0x8913;
    private const int SIOCSIFFLAGS = 0x8914;
    private const int SIOCSIFADDR = 0x8916;
    private const int SIOCGIFHWADDR = 0x8927;
    private const int SIOCBRADDIF = 0x89A2;

    // <net/if.h>
    private const short IFF_UP = 0x1;
    private const int IFNAMSIZ = 16;

    /// <summary><c>sizeof(struct ifreq)</c> on x86-64: the 16-byte name and a 24-byte union.</summary>
    private const int IfreqSize = 40;

    // Offsets inside struct ifreq's union (which starts at IFNAMSIZ).
    private const int IfrFlags = IFNAMSIZ;          // short ifr_flags
    private const int IfrIfindex = IFNAMSIZ;        // int ifr_ifindex
    private const int IfrAddrFamily = IFNAMSIZ;     // struct sockaddr_in: sin_family
    private const int IfrAddrSinAddr = IFNAMSIZ + 4; // struct sockaddr_in: sin_addr (network order)
    private const int IfrHwaddrData = IFNAMSIZ + 2; // struct sockaddr: sa_data (the MAC)

    /// <summary><c>open("/dev/net/tun", O_RDWR | O_CLOEXEC)</c>: 0 or a negative errno.</summary>
    /// <remarks>
    /// The fd becomes a <see cref="SafeFileHandle"/> (IsInvalid is "&lt; 0" for it) so that the
    /// one-call <c>readv</c>/<c>writev</c> of <see cref="GuestStreamIo"/> serve the tap too;
    /// SafeFileHandle cannot be handed an fd after construction, so it wraps it at once.
    /// </remarks>
    internal static unsafe int OpenTun(out SafeFileHandle? handle)
    {
        handle = null;
        ReadOnlySpan<byte> path = "/dev/net/tun\0"u8;
        int fd;
        int errno = 0;
        // SAFETY: p points at a NUL-terminated literal that lives for the whole program.
        fixed (byte* p = path)
        {
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            if (fd < 0)
            {
                errno = LibC.errno;
            }
        }

        if (fd < 0)
        {
            return -errno;
        }

        handle = new SafeFileHandle(new IntPtr(fd), ownsHandle: true);
        return 0;
    }

    /// <summary><c>socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)</c>: the configuration socket.</summary>
    internal static int OpenConfigSocket(out NetFdHandle handle)
    {
        handle = new NetFdHandle();
        int fd = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.errno;
            handle.Dispose();
            return -errno;
        }

        handle.Adopt(fd);
        return 0;
    }

    /// <summary>
    /// <c>TUNSETIFF</c> with <c>IFF_TAP | IFF_NO_PI</c> and <paramref name="nameTemplate"/>
    /// (e.g. <c>tap%d</c>); <paramref name="name"/> is the name the kernel chose.
    /// </summary>
    internal static int TunSetTap(SafeHandle tun, string nameTemplate, out string name)
    {
        Span<byte> ifr = stackalloc byte[IfreqSize];
        name = nameTemplate;
        if (!TryPutName(ifr, nameTemplate))
        {
            return -LibC.EINVAL;
        }

        BinaryPrimitives.WriteInt16LittleEndian(ifr[IfrFlags..], IFF_TAP | IFF_NO_PI);
        int rc = Ioctl(tun, TUNSETIFF, ifr);
        if (rc == 0)
        {
            name = GetName(ifr);
        }

        return rc;
    }

    /// <summary><c>TUNSETNOCSUM</c> with 1 (lguest.c ignores the result; modern kernels accept and ignore it).</summary>
    internal static unsafe int TunSetNoChecksum(SafeHandle tun)
    {
        bool added = false;
        try
        {
            tun.DangerousAddRef(ref added);

            // SAFETY: the argument is the integer 1 passed in the pointer slot, never dereferenced as memory of ours.
            int rc = LibC.ioctl((int)tun.DangerousGetHandle(), TUNSETNOCSUM, (void*)1);
            return rc < 0 ? -LibC.errno : 0;
        }
        finally
        {
            if (added)
            {
                tun.DangerousRelease();
            }
        }
    }

    /// <summary><c>SIOCSIFADDR</c>: AF_INET address <paramref name="address"/> (host order) on interface <paramref name="name"/>.</summary>
    internal static int SetInterfaceAddress(NetFdHandle socket, string name, uint address)
    {
        Span<byte> ifr = stackalloc byte[IfreqSize];
        if (!TryPutName(ifr, name))
        {
            return -LibC.EINVAL;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(ifr[IfrAddrFamily..], (ushort)(int)LibC.AF_INET);
        BinaryPrimitives.WriteUInt32BigEndian(ifr[IfrAddrSinAddr..], address);
        return Ioctl(socket, SIOCSIFADDR, ifr);
    }

    /// <summary><c>SIOCGIFFLAGS</c>, then <c>SIOCSIFFLAGS</c> with <c>IFF_UP</c> added.</summary>
    internal static int BringInterfaceUp(NetFdHandle socket, string name)
    {
        Span<byte> ifr = stackalloc byte[IfreqSize];
        if (!TryPutName(ifr, name))
        {
            return -LibC.EINVAL;
        }

        int rc = Ioctl(socket, SIOCGIFFLAGS, ifr);
        if (rc != 0)
        {
            return rc;
        }

        short flags = BinaryPrimitives.ReadInt16LittleEndian(ifr[IfrFlags..]);
        BinaryPrimitives.WriteInt16LittleEndian(ifr[IfrFlags..], (short)(flags | IFF_UP));
        return Ioctl(socket, SIOCSIFFLAGS, ifr);
    }

    /// <summary><c>SIOCGIFHWADDR</c>: the interface's 6-byte hardware address into <paramref name="mac"/>.</summary>
    internal static int GetHardwareAddress(NetFdHandle socket, string name, Span<byte> mac)
    {
        Span<byte> ifr = stackalloc byte[IfreqSize];
        if (!TryPutName(ifr, name))
        {
            return -LibC.EINVAL;
        }

        int rc = Ioctl(socket, SIOCGIFHWADDR, ifr);
        if (rc == 0)
        {
            ifr.Slice(IfrHwaddrData, 6).CopyTo(mac);
        }

        return rc;
    }

    /// <summary><c>SIOCBRADDIF</c>: attach interface <paramref name="ifindex"/> to bridge <paramref name="bridge"/>.</summary>
    internal static int AddToBridge(NetFdHandle socket, string bridge, int ifindex)
    {
        Span<byte> ifr = stackalloc byte[IfreqSize];
        if (!TryPutName(ifr, bridge))
        {
            return -LibC.EINVAL;
        }

        BinaryPrimitives.WriteInt32LittleEndian(ifr[IfrIfindex..], ifindex);
        return Ioctl(socket, SIOCBRADDIF, ifr);
    }

    /// <summary><c>ioctl(fd, request, ifr)</c>; 0 or a negative errno.</summary>
    private static unsafe int Ioctl(SafeHandle fd, int request, Span<byte> ifr)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            // SAFETY: p points at the caller's 40-byte struct ifreq, pinned for the call;
            // every request used here reads or writes at most sizeof(struct ifreq).
            fixed (byte* p = ifr)
            {
                int rc = LibC.ioctl((int)fd.DangerousGetHandle(), request, p);
                return rc < 0 ? -LibC.errno : 0;
            }
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>Puts a NUL-terminated interface name (at most IFNAMSIZ − 1 bytes) at the start of ifr.</summary>
    private static bool TryPutName(Span<byte> ifr, string name)
    {
        ifr.Clear();
        int length = Encoding.UTF8.GetByteCount(name);
        if (length >= IFNAMSIZ || name.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        Encoding.UTF8.GetBytes(name, ifr);
        return true;
    }

    private static string GetName(ReadOnlySpan<byte> ifr)
    {
        ReadOnlySpan<byte> raw = ifr[..IFNAMSIZ];
        int nul = raw.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? raw : raw[..nul]);
    }
}
