using LguestSim.Backends.Simulated;
using LguestSim.Engine;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 8: a queue whose irq the kernel would refuse (LGUEST_IRQS = 32) is "too many
/// devices" at set-up, before the guest runs — not a guest fault at the first completion.
/// </summary>
public sealed class IrqLimitTests
{
    private static string Blocks(int n) => string.Concat(Enumerable.Repeat("block size=1K\n", n)) + "boot\nblock.read count=1 sector=0\npoweroff\n";

    [Fact]
    public void ThirtyOneQueues_RunToAPowerOff()
    {
        // 29 block queues (irqs 1–29) and the console's two (30, 31).
        SimulationResult result = ScenarioText.Run(Blocks(29));
        Assert.Equal(0, result.ExitStatus);
    }

    [Theory]
    [InlineData(30)]
    [InlineData(32)]
    public void AQueueAtIrq32_IsTooManyDevicesAtSetUp(int blocks)
    {
        LauncherException e = Assert.Throws<LauncherException>(() => ScenarioText.Run(Blocks(blocks)));
        Assert.Contains("too many devices", e.Message, StringComparison.Ordinal);
    }
}
