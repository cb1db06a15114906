using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.Block;

/// <summary>
/// A fact that mounts a small tmpfs, which needs root. It is skipped, with the reason shown,
/// only when not running as root; CI runs as root.
/// </summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    /// <summary>Marks the test skipped when a tmpfs cannot be mounted here.</summary>
    public TmpfsFactAttribute()
    {
        if ((Requires.Root() ?? (Requires.OnPath("mount") ? null : "'mount' is not installed")) is { } reason)
        {
            Skip = reason;
        }
    }
}
