using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Machine;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Block;
using Xunit;

namespace LguestSim.Tests.Golden.Isolation;

/// <summary>
/// Issue 12 item 1, <c>--guest-errors=isolate</c>, asserted on fault codes, device state and
/// ring indexes (never on wording): the faulting device is isolated and only it; the others
/// are served; the isolated device's notifies and input are ignored (its used ring does not
/// move); a reset brings it back; host errors stay fatal.
/// </summary>
public sealed class IsolateModeTests
{
    /// <summary>A bad chain (next 300) on the first disk, then a good read chain kicked before the Launcher has seen the fault.</summary>
    private const string BlockFaultWithKickAfter = """
        block size=16K
        block size=16K
        boot
        ring.desc block 0 7 addr=0x100000 len=16 flags=1 next=300
        ring.desc block 0 8 addr=0x100000 len=16 flags=1 next=9
        ring.desc block 0 9 addr=0x100200 len=512 flags=3 next=10
        ring.desc block 0 10 addr=0x100400 len=1 flags=2
        ring.publish block 0 7
        ring.kick block 0
        ring.publish block 0 8
        ring.kick block 0
        console.write "x"
        block.read sector=0 count=1
        ring.kick block 0
        console.write "y"
        block.read sector=1 count=1
        poweroff

        """;

    [Fact]
    public void BlockFault_IsolatesThatDiskOnly_ItsRingStopsWhileTheOthersAreServed()
    {
        for (int run = 0; run < 5; run++)
        {
            (SimulationResult result, MachineOutcome outcome) = RunIsolate(BlockFaultWithKickAfter);
            Assert.Equal(LauncherExitKind.GuestDied, result.Exit.Kind);
            Assert.Equal(0, result.ExitStatus);
            Assert.Equal([new DeviceIsolation(0, 0, "block", GuestFault.NextIndexOutOfRange)], result.Isolations);

            var faulty = (BlockDevice)outcome.Setup.Devices[0];
            var healthy = (BlockDevice)outcome.Setup.Devices[1];
            var console = (ConsoleDevice)outcome.Setup.Devices[2];
            Assert.True(faulty.IsIsolated);
            Assert.False(healthy.IsIsolated);
            Assert.False(console.IsIsolated);

            // Only the probe's read completed on the faulty disk: not the good chain kicked after
            // the bad one (its worker is parked), nothing kicked after the isolation.
            Assert.Equal(1, UsedIdx(outcome, faulty.Queue));
            Assert.Equal(2, faulty.Queue.LastAvailIndex);

            // The healthy disk: the probe's read and both reads of the scenario; the console: both writes.
            Assert.Equal(3, UsedIdx(outcome, healthy.Queue));
            Assert.Equal(2, UsedIdx(outcome, console.OutputQueue));
        }
    }

    /// <summary>A readable buffer on the console's input queue, found when "b" arrives; then more input, and a block read to wake the guest.</summary>
    private const string ConsoleInputFault = """
        block size=16K
        boot
        ring.desc console 0 5 addr=0x2000000 len=16 flags=0
        ring.publish console 0 5
        ring.kick console 0
        host.type "a"
        console.expect "a"
        host.type "b"
        idle
        host.type "c"
        block.read sector=0 count=1
        console.write "z"
        block.read sector=1 count=1
        poweroff

        """;

    [Fact]
    public void ConsoleInputFault_InputIsNoLongerListenedTo_NorItsNotifiesServed_BlockStillCompletes()
    {
        (SimulationResult result, MachineOutcome outcome) = RunIsolate(ConsoleInputFault);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal([new DeviceIsolation(0, 1, "console", GuestFault.ConsoleInputReadable)], result.Isolations);
        var block = (BlockDevice)outcome.Setup.Devices[0];
        var console = (ConsoleDevice)outcome.Setup.Devices[1];
        Assert.True(console.IsIsolated);

        // "a" only: "b" and "c" wait in the host port, the guest's re-offered buffer unused.
        Assert.Equal(1, UsedIdx(outcome, console.InputQueue));
        Assert.Equal(0, UsedIdx(outcome, console.OutputQueue));

        // The probe's read and the two reads of the scenario.
        Assert.Equal(3, UsedIdx(outcome, block.Queue));
    }

    /// <summary>A writable buffer on the console's output queue; then a good write.</summary>
    private const string ConsoleOutputFault = """
        block size=16K
        boot
        console.write "before"
        ring.desc console 1 5 addr=0x2000000 len=16 flags=2
        ring.publish console 1 5
        ring.kick console 1
        console.write "after"
        console.write "again"
        block.read sector=0 count=1
        poweroff

        """;

    [Fact]
    public void ConsoleOutputFault_LaterNotifiesAreIgnored_TheUsedRingDoesNotMove()
    {
        (SimulationResult result, MachineOutcome outcome) = RunIsolate(ConsoleOutputFault);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal([new DeviceIsolation(0, 1, "console", GuestFault.ConsoleOutputWritable)], result.Isolations);
        var console = (ConsoleDevice)outcome.Setup.Devices[1];
        Assert.True(console.IsIsolated);
        Assert.Equal(1, UsedIdx(outcome, console.OutputQueue));
        Assert.Equal(2, console.OutputQueue.LastAvailIndex);
        Assert.Equal(2, UsedIdx(outcome, ((BlockDevice)outcome.Setup.Devices[0]).Queue));
    }

    /// <summary>A bad sector isolates the disk; a read meanwhile is not served; a reset brings it back.</summary>
    private const string BlockResetAfterFault = """
        block size=16K fill=0x33
        boot
        block.read sector=0x40000000000000 count=1
        block.read sector=1 count=1
        reset block
        block.write sector=4 count=1 data=seed:9
        block.read sector=4 count=1 expect=seed:9

        """;

    [Fact]
    public void Reset_OfTheIsolatedDisk_BringsItBack_AndItsWorkerServesTheNewRing()
    {
        (SimulationResult result, MachineOutcome outcome) = RunIsolate(BlockResetAfterFault);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal([new DeviceIsolation(0, 0, "block", GuestFault.BlockBadSector)], result.Isolations);
        var block = (BlockDevice)outcome.Setup.Devices[0];
        Assert.False(block.IsIsolated);

        // The new ring: the re-probe's read, the write and the read back.
        Assert.Equal(3, UsedIdx(outcome, block.Queue));
        Assert.Contains("guest: block read #2 verified seed:9", result.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public void Reset_OfTheIsolatedConsole_ListensToItsInputAgain()
    {
        const string text = """
            boot
            console.write "one"
            ring.desc console 1 5 addr=0x2000000 len=16 flags=2
            ring.publish console 1 5
            ring.kick console 1
            reset console
            console.write "two"
            host.type "k"
            console.expect "k"
            poweroff

            """;
        (SimulationResult result, MachineOutcome outcome) = RunIsolate(text);
        Assert.Equal(0, result.ExitStatus);
        Assert.Single(result.Isolations);
        var console = (ConsoleDevice)outcome.Setup.Devices[0];
        Assert.False(console.IsIsolated);
        Assert.Equal(1, UsedIdx(outcome, console.OutputQueue));
        Assert.Equal(1, UsedIdx(outcome, console.InputQueue));
    }

    [Fact]
    public void HostError_StaysFatal_InIsolateMode()
    {
        const string text = """
            net
            boot
            host.net.read-error errno=5
            idle
            console.write "never"
            poweroff

            """;
        (SimulationResult result, _) = RunIsolate(text);
        Assert.Equal(LauncherExitKind.HostError, result.Exit.Kind);
        Assert.Equal(1, result.ExitStatus);
        Assert.Empty(result.Isolations);
    }

    [Fact]
    public void ExitMode_TheSameFault_EndsTheRun_AndIsolatesNothing()
    {
        SimulationResult result = Run(BlockFaultWithKickAfter, GuestErrorMode.Exit, _ => { });
        Assert.Equal(LauncherExitKind.GuestFault, result.Exit.Kind);
        Assert.Equal(GuestFault.NextIndexOutOfRange, result.Exit.Fault);
        Assert.Equal(1, result.ExitStatus);
        Assert.Empty(result.Isolations);
    }

    /// <summary>The same worker fault, not waited for: in isolate mode it is still reported (as an isolation) on the way out.</summary>
    [Theory]
    [InlineData("poweroff", LauncherExitKind.GuestDied)]
    [InlineData("reboot\npoweroff", LauncherExitKind.GuestDied)]
    public void WorkerFault_NotWaitedFor_IsIsolatedOnTheWayOut(string end, LauncherExitKind kind)
    {
        string text = """
            block size=16K
            boot
            ring.desc block 0 7 addr=0x100000 len=8 flags=1 next=8
            ring.desc block 0 8 addr=0x100200 len=1 flags=2
            ring.publish block 0 7
            ring.kick block 0
            console.write "one"

            """ + end + "\n";
        (SimulationResult result, _) = RunIsolate(text);
        Assert.Equal(kind, result.Exit.Kind);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal(GuestFault.BadTypedBuffer, Assert.Single(result.Isolations).Fault);
    }

    private static (SimulationResult Result, MachineOutcome Outcome) RunIsolate(string text)
    {
        MachineOutcome? last = null;
        SimulationResult result = Run(text, GuestErrorMode.Isolate, o => last = o);
        return (result, last!);
    }

    private static SimulationResult Run(string text, GuestErrorMode mode, Action<MachineOutcome> ended)
    {
        Scenario scenario = ScenarioParser.Parse(text, "test.scenario", "test");
        return SimulationRunner.Run(scenario, new SimulationOptions
        {
            OpenBlock = FileBlockStore.Open,
            HaltTimeout = TimeSpan.FromSeconds(20),
            GuestErrors = mode,
            RunEnded = ended,
        });
    }

    private static int UsedIdx(MachineOutcome outcome, Virtqueue queue) =>
        outcome.Setup.Memory.ReadU16(queue.RingAddress + (ulong)queue.Layout.UsedOffset + 2);
}
