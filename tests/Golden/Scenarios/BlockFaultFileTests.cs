using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>
/// The block scenarios that end in a fault, run on a file of random bytes: the run ends with
/// the expected fault and the file is byte-identical afterwards (same length, same bytes).
/// </summary>
public sealed class BlockFaultFileTests
{
    public static TheoryData<string, GuestFault> Faults() => new()
    {
        { "fault-block-write-past-end", GuestFault.BlockWritePastEnd },
        { "fault-block-bad-sector", GuestFault.BlockBadSector },
        { "fault-block-no-header", GuestFault.BlockBadRequestShape },
        { "fault-block-no-status", GuestFault.BlockBadRequestShape },
        { "fault-block-header-size", GuestFault.BadTypedBuffer },
        { "fault-block-header-misaligned", GuestFault.BadTypedBuffer },
        { "fault-block-status-size", GuestFault.BadTypedBuffer },
        { "fault-avail-jump", GuestFault.AvailIndexJump },
        { "fault-buffer-out-of-bounds", GuestFault.BufferOutOfBounds },
        { "fault-chain-too-long", GuestFault.ChainTooLong },
        { "fault-head-out-of-range", GuestFault.HeadIndexOutOfRange },
        { "fault-next-out-of-range", GuestFault.NextIndexOutOfRange },
        { "fault-readable-after-writable", GuestFault.ReadableAfterWritable },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void FaultScenario_LeavesTheFileByteIdentical(string name, GuestFault fault)
    {
        string path = Path.Combine(Path.GetTempPath(), $"lguestsim-fault-{Guid.NewGuid():N}.img");
        byte[] before = new byte[16 * 1024];
        new Random(name.Length).NextBytes(before);
        File.WriteAllBytes(path, before);
        try
        {
            Scenario scenario = ScenarioParser.ParseFile(Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios", name + ".scenario"));
            SimulationResult result = SimulationRunner.Run(scenario, new SimulationOptions
            {
                OpenBlock = FileBlockStore.Open,
                BlockFile = path,
                HaltTimeout = TimeSpan.FromSeconds(20),
            });

            Assert.Equal(LauncherExitKind.GuestFault, result.Exit.Kind);
            Assert.Equal(fault, result.Exit.Fault);
            Assert.Equal(before, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
