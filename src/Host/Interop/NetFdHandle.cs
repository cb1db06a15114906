using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>
/// A file descriptor of the net device's host side: the <c>/dev/net/tun</c> fd of a tap, or
/// the AF_INET socket used for the interface ioctls. Closed on dispose.
/// </summary>
internal sealed class NetFdHandle : SafeHandle
{
    internal NetFdHandle()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <summary>fd 0 is a valid descriptor; only negative values are not.</summary>
    public override bool IsInvalid => (long)handle < 0;

    /// <summary>The descriptor for a call made while the caller holds a reference.</summary>
    internal int Fd => (int)handle;

    /// <summary>Adopts <paramref name="fd"/> (from the syscall that created it).</summary>
    internal void Adopt(int fd) => SetHandle(new IntPtr(fd));

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
