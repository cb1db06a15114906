using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Scenarios;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using LguestSim.Tests.Golden.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Golden.Scenarios;

/// <summary>
/// The scenarios that end in a fault, run on a file of random bytes: the run ends with the
/// expected fault, and the file holds exactly what the guest saw acknowledged.
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
    };

    /// <summary>
    /// The ring faults: the walk rejects the chain before the block device sees a request, so
    /// "the file is unchanged" could not fail for them. Instead each runs after a write the guest
    /// saw acknowledged, and the file must hold that write and nothing else.
    /// </summary>
    public static TheoryData<string, GuestFault> RingFaults() => new()
    {
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

    [Theory]
    [MemberData(nameof(RingFaults))]
    public void RingFault_AfterAnAcknowledgedWrite_FileHoldsThatWriteAndNothingElse(string name, GuestFault fault)
    {
        const ulong Sector = 5;
        const int Count = 3;
        string path = Path.Combine(Path.GetTempPath(), $"lguestsim-fault-{Guid.NewGuid():N}.img");
        byte[] before = new byte[16 * 1024];
        new Random(name.Length).NextBytes(before);
        File.WriteAllBytes(path, before);
        try
        {
            // The fixture, with one acknowledged write (kick and wait) straight after boot.
            string text = File.ReadAllText(Path.Combine(GoldenFile.RepoRoot, "fixtures", "scenarios", name + ".scenario"));
            int boot = text.IndexOf("\nboot\n", StringComparison.Ordinal);
            Assert.True(boot >= 0, "the fixture has no boot line");
            text = text.Insert(boot + "\nboot\n".Length, $"block.write sector={Sector} count={Count} data=seed:77 segments=2\n");
            Scenario scenario = ScenarioParser.Parse(text, name + ".scenario", name + "+write");
            SimulationResult result = SimulationRunner.Run(scenario, new SimulationOptions
            {
                OpenBlock = FileBlockStore.Open,
                BlockFile = path,
                HaltTimeout = TimeSpan.FromSeconds(20),
            });

            Assert.Equal(LauncherExitKind.GuestFault, result.Exit.Kind);
            Assert.Equal(fault, result.Exit.Fault);
            Assert.Matches(@"block write #1 done .* status=OK", result.Transcript);
            byte[] expected = (byte[])before.Clone();
            new DataPattern(false, 77).Generate(Count * 512).CopyTo(expected, (int)Sector * 512);
            Assert.Equal(expected, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
