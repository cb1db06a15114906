using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Backends.Kernel.Interop;

/// <summary>An open <c>/dev/lguest</c> (or a file standing in for it). Closing it destroys the guest (spec §2.4).</summary>
internal sealed class LguestDeviceHandle : SafeHandle
{
    internal LguestDeviceHandle()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <summary>fd 0 is a valid descriptor; only negative values are not.</summary>
    public override bool IsInvalid => (long)handle < 0;

    /// <summary>Adopts <paramref name="fd"/>, from the <c>open</c> that created it.</summary>
    internal void Adopt(int fd) => SetHandle(new IntPtr(fd));

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
