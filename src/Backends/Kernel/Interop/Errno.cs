using Tmds.Linux;

namespace LguestSim.Backends.Kernel.Interop;

internal static partial class Sys
{
    /// <summary>ENOENT: the guest is dead (spec §2.5).</summary>
    internal static int ENOENT => LibC.ENOENT;

    /// <summary>EAGAIN: the Waker broke the run.</summary>
    internal static int EAGAIN => LibC.EAGAIN;

    /// <summary>EINVAL: a request the kernel refuses (e.g. irq ≥ 32).</summary>
    internal static int EINVAL => LibC.EINVAL;

    /// <summary>ERESTART on x86 Linux (asm-generic/errno.h): the guest asked to reboot.</summary>
    internal const int ERESTART = 85;
}
