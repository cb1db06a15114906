using FsCheck.Xunit;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Launch;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Block;

/// <summary>
/// What a barrier promises (spec §5.3, "fdatasync before this request"): once the guest sees a
/// barrier request acknowledged, every write served before it survives a power cut. The crash
/// model is <see cref="CrashModelBlockStore"/>: a cut keeps only what the last flush made durable.
/// </summary>
public sealed class BlockBarrierProperties
{
    /// <summary>
    /// At the moment the guest sees each barrier request complete with OK, a power cut keeps a
    /// state of the disk that holds every write before that request: the model disk after the
    /// first W writes, in ring order, for some W at least the number of writes before it.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BlockArbitraries) }, MaxTest = 25 * PropertyScale.Factor)]
    public void AcknowledgedBarrier_EveryEarlierWriteSurvivesAPowerCut(BlockCase c)
    {
        byte[] initial = new byte[c.Length];
        new Random(c.DiskSeed).NextBytes(initial);
        var store = new CrashModelBlockStore((byte[])initial.Clone());
        var cuts = new List<(int Index, byte[] Image, int Writes)>();
        (var result, _) = BlockRun.Run(store, c, (index, outcome) =>
        {
            if (outcome.Op.IsBarrier && outcome.Status == VirtioBlkOutHdr.StatusOk)
            {
                (byte[] image, int writes) = store.Durable;
                cuts.Add((index, image, writes));
            }
        });

        Assert.True(result.Exit.Kind == LauncherExitKind.GuestDied, $"run ended: {result.Exit}");
        BlockOp[] writes = c.Batches.SelectMany(b => b).Where(o => o.IsWrite).ToArray();
        BlockOp[] ops = c.Batches.SelectMany(b => b).ToArray();
        foreach ((int index, byte[] image, int durableWrites) in cuts)
        {
            int before = ops.Take(index).Count(o => o.IsWrite);
            Assert.True(durableWrites >= before, $"barrier request {index} ({ops[index]}) acknowledged with {durableWrites} of the {before} writes before it durable");
            var model = new DiskModel(initial);
            foreach (BlockOp w in writes.Take(durableWrites))
            {
                model.Apply(w);
            }

            Assert.True(model.Bytes.AsSpan().SequenceEqual(image), $"barrier request {index}: the durable image is not the disk after the first {durableWrites} writes");
        }
    }
}
