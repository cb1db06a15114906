using LguestSim.Backends.Simulated;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 1: a guest fault the block worker hit is never lost, whichever way the run
/// ends after it — power-off, panic, reboot — even when the guest never waited for the request.
/// </summary>
public sealed class PendingWorkerFaultTests
{
    // An 8-byte header (struct virtio_blk_outhdr is 16) and a status byte, kicked without wait.
    private const string BadRequest = """
        block size=16K
        boot
        ring.desc block 0 7 addr=0x100000 len=8 flags=1 next=8
        ring.desc block 0 8 addr=0x100200 len=1 flags=2
        ring.publish block 0 7
        ring.kick block 0
        console.write "one"
        console.write "two"
        console.write "three"

        """;

    public static TheoryData<string> WaysOut() => new() { "poweroff", "panic \"bye\"", "reboot\npoweroff" };

    [Theory]
    [MemberData(nameof(WaysOut))]
    public void WorkerFault_NotWaitedFor_EndsTheRunAsAGuestFault(string end)
    {
        for (int i = 0; i < 10; i++)
        {
            SimulationResult result = ScenarioText.Run(BadRequest + end + "\n");
            Assert.True(result.Exit.Kind == LauncherExitKind.GuestFault, $"run {i}: {result.Exit.Kind} {result.Exit.Message}\n{result.Transcript}");
            Assert.Equal(GuestFault.BadTypedBuffer, result.Exit.Fault);
            Assert.Equal(1, result.ExitStatus);
            Assert.DoesNotContain("guest asked to reboot", result.Transcript, StringComparison.Ordinal);
        }
    }
}
