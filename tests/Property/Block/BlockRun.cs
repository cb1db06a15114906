using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.HostIo;

namespace LguestSim.Tests.Property.Block;

/// <summary>What the guest saw for one request.</summary>
public sealed record Outcome(BlockOp Op, byte Status, uint UsedLength, byte[] ReadBack);

/// <summary>
/// Runs a <see cref="BlockCase"/> on a <see cref="BlockMachine"/>: the simulated virtio_blk
/// driver submits each batch (all requests in flight, one kick) through the real Launcher,
/// block device and worker thread, and records what came back.
/// </summary>
public static class BlockRun
{
    public static (BlockMachineResult Result, List<Outcome> Outcomes) Run(IBlockStore store, BlockCase c)
    {
        var outcomes = new List<Outcome>();
        BlockMachineResult result = BlockMachine.Run(store, guest =>
        {
            BlockDriver driver = guest.ProbeDriver();
            IEnumerable<BlockOp[]> batches = c.PastEnd is null ? c.Batches : [.. c.Batches, [c.PastEnd]];
            foreach (BlockOp[] batch in batches)
            {
                foreach (BlockOp op in batch)
                {
                    driver.Submit(new BlockRequest
                    {
                        Type = op.Type,
                        Sector = op.Sector,
                        Data = op.Data(),
                        SegmentLengths = op.Segments,
                        Completed = r => outcomes.Add(new Outcome(op, r.Status, r.UsedLength, r.ReadBack)),
                    });
                }

                driver.KickAndWait();
            }
        }, new BlockMachineOptions { MemoryBytes = 16UL << 20, HaltTimeout = TimeSpan.FromSeconds(20) });
        return (result, outcomes);
    }

    /// <summary>A temporary file of <paramref name="length"/> seeded bytes; returns its path and content.</summary>
    public static (string Path, byte[] Content) CreateDisk(int length, int seed)
    {
        byte[] content = new byte[length];
        new Random(seed).NextBytes(content);
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"lguestsim-blk-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, content);
        return (path, content);
    }
}
