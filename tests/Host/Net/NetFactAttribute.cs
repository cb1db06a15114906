using LguestSim.Tests.Host.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Host.Net;

/// <summary>
/// A fact that needs root, /dev/net/tun and iproute2's <c>ip</c> (network namespaces). It is
/// skipped, with the reason shown, only when one of them is truly missing; CI has them all.
/// </summary>
public sealed class NetFactAttribute : FactAttribute
{
    /// <summary>Marks the test skipped when a tap in a namespace cannot be had here.</summary>
    public NetFactAttribute()
    {
        if ((Requires.Tun() ?? Requires.Ip()) is { } reason)
        {
            Skip = reason;
        }
    }
}
