using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.Lgdev;

/// <summary>
/// A fact that mounts the emulated /dev/lguest over FUSE: it needs root and /dev/fuse. It is
/// skipped, with the reason shown, only when one of them is truly missing; CI has both.
/// </summary>
public sealed class FuseFactAttribute : FactAttribute
{
    private readonly bool _needsGcc;
    private readonly bool _needsTap;

    /// <summary>Marks the test skipped when a FUSE filesystem cannot be mounted here.</summary>
    public FuseFactAttribute()
    {
        if ((Requires.Root() ?? (File.Exists("/dev/fuse") ? null : "/dev/fuse is missing")) is { } reason)
        {
            Skip = reason;
        }
    }

    /// <summary>The test also builds a small C caller with gcc, so it is skipped where gcc is missing.</summary>
    public bool NeedsGcc
    {
        get => _needsGcc;
        init
        {
            _needsGcc = value;
            if (value && Skip is null && !Requires.OnPath("gcc"))
            {
                Skip = "gcc is not installed (needed to build the signal-sending C caller)";
            }
        }
    }

    /// <summary>
    /// The test also makes a tap in a network namespace of its own and enters it with
    /// nsenter, so it is skipped where /dev/net/tun, iproute2 or nsenter is missing.
    /// </summary>
    public bool NeedsTap
    {
        get => _needsTap;
        init
        {
            _needsTap = value;
            if (value && Skip is null && (Requires.Tun() ?? Requires.Ip() ?? (Requires.OnPath("nsenter") ? null : "nsenter (util-linux) is not installed")) is { } reason)
            {
                Skip = reason;
            }
        }
    }
}
