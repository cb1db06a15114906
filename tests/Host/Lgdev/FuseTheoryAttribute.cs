using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// A theory that mounts the emulated /dev/lguest over FUSE in a network namespace: it needs
/// root, /dev/fuse, /dev/net/tun and iproute2, and is skipped, with the reason shown, only when
/// one of them is truly missing; CI has them all.
/// </summary>
public sealed class FuseTheoryAttribute : TheoryAttribute
{
    /// <summary>Marks the theory skipped when a FUSE filesystem or a tap cannot be had here.</summary>
    public FuseTheoryAttribute()
    {
        if ((Requires.Tun() ?? Requires.Ip() ?? (File.Exists("/dev/fuse") ? null : "/dev/fuse is missing")) is { } reason)
        {
            Skip = reason;
        }
    }
}
