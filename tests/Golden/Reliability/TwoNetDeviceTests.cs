using LguestSim.Backends.Simulated;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// With two net devices, the guest's net verbs and the host's <c>host.net.*</c> verbs work on the
/// same one, the first: a frame the guest sends is the frame the host side sees, and the other
/// way round.
/// </summary>
public sealed class TwoNetDeviceTests
{
    [Fact]
    public void NetVerbs_AndHostNetVerbs_UseTheFirstNetDevice()
    {
        SimulationResult result = ScenarioText.Run(
            "net mac=02:00:00:00:00:01\nnet mac=02:00:00:00:00:02\nboot\n"
            + "net.send len=60 data=seed:7\nhost.net.expect len=60 data=seed:7\n"
            + "host.net.send len=60 data=seed:8\nnet.expect len=60 data=seed:8\npoweroff\n");

        Assert.True(result.ExitStatus == 0, result.Transcript);
        Assert.Contains("guest: net tx len=60 dst=ff:ff:ff:ff:ff:ff src=02:00:00:00:00:01 ", result.Transcript, StringComparison.Ordinal);
    }
}
