using FsCheck.Xunit;
using LguestSim.Backends.Simulated;
using LguestSim.Engine;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Block;

/// <summary>
/// Model-based test of the whole block path: random reads, writes, barriers and SCSI requests
/// (random sectors, 1..126 segments of random lengths, 1..8 in flight at once) sent by the
/// simulated guest through the real Launcher, device, worker thread and a real file, against
/// <see cref="DiskModel"/>.
/// </summary>
public sealed class BlockModelProperties
{
    /// <summary>
    /// Every read returns the model's bytes (buffers past the end untouched), every status byte
    /// and used length is the spec's, each barrier flushes before its request touches the file,
    /// SCSI is refused with a warning, and at the end the file equals the model.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BlockArbitraries) }, MaxTest = 60 * PropertyScale.Factor)]
    public void AnyRequests_MatchTheModelDisk(BlockCase c)
    {
        (string path, byte[] initial) = BlockRun.CreateDisk(c.Length, c.DiskSeed);
        try
        {
            BlockMachineResult result;
            List<Outcome> outcomes;
            RecordingBlockStore store;
            using (FileBlockStore file = FileBlockStore.Open(path))
            {
                store = new RecordingBlockStore(file);
                (result, outcomes) = BlockRun.Run(store, c);
            }

            Assert.True(result.Exit.Kind == LauncherExitKind.GuestDied && result.Exit.Message == "CRASH: Power down", $"run ended: {result.Exit}");

            var model = new DiskModel(initial);
            BlockOp[] ops = c.Batches.SelectMany(b => b).ToArray();
            Assert.Equal(ops.Length, outcomes.Count);
            var expectedCalls = new List<string> { "read@0" }; // the probe's partition-table read
            for (int i = 0; i < ops.Length; i++)
            {
                Outcome got = outcomes[i];
                Assert.Same(ops[i], got.Op);
                Expected want = model.Apply(ops[i]);
                Assert.True(want.Status == got.Status, $"request {i} {ops[i]}: status {got.Status}, expected {want.Status}");
                Assert.True(want.UsedLength == got.UsedLength, $"request {i} {ops[i]}: used length {got.UsedLength}, expected {want.UsedLength}");
                Assert.True(want.ReadBack.AsSpan().SequenceEqual(got.ReadBack), $"request {i} {ops[i]}: data read back differs from the model");
                expectedCalls.AddRange(DiskModel.Calls(ops[i]));
            }

            Assert.Equal(expectedCalls, store.Calls);
            Assert.Equal(ops.Count(o => o.IsScsi), result.Warnings.Count(w => w == "block: SCSI unsupported"));

            // One interrupt per completed request (the probe's read included), raised on the run
            // loop; the last few may still be owed when the guest powers off.
            Assert.InRange(result.Interrupts, 1, ops.Length + 1);
            Assert.Equal(model.Bytes, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A read or write at a sector whose byte offset overflows a seek ends the run with
    /// <see cref="GuestFault.BlockBadSector"/>, after everything before it was served; the file
    /// is the model of the requests before it.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BlockBadSectorArbitraries) }, MaxTest = 20 * PropertyScale.Factor)]
    public void BadSector_IsFatal_AndLeavesTheFileAsBefore(BlockCase c) =>
        AssertFatal_FileIsTheModelOfWhatCameBefore(c, GuestFault.BlockBadSector);

    /// <summary>
    /// A write that would end past the end of the file ends the run with
    /// <see cref="GuestFault.BlockWritePastEnd"/>, after everything before it was served, and
    /// not a byte of it reaches the file: the file is the model of the requests before it.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BlockPastEndArbitraries) }, MaxTest = 30 * PropertyScale.Factor)]
    public void WritePastEnd_IsFatal_AndLeavesTheFileAsBefore(BlockCase c) =>
        AssertFatal_FileIsTheModelOfWhatCameBefore(c, GuestFault.BlockWritePastEnd);

    /// <summary>
    /// A request whose header or status byte is missing, mis-sized or misaligned ends the run with
    /// the fault spec §5.3 steps 1–2 name for it (<see cref="MalformedRequest.ExpectedFault"/>),
    /// after everything before it was served; whatever its type, nothing of it reaches the file.
    /// </summary>
    [Property(Arbitrary = new[] { typeof(BlockMalformedArbitraries) }, MaxTest = 40 * PropertyScale.Factor)]
    public void MalformedRequest_IsFatal_WithTheSpecsFault(BlockCase c) =>
        AssertFatal_FileIsTheModelOfWhatCameBefore(c, c.Malformed!.ExpectedFault!.Value);

    /// <summary>
    /// Runs <paramref name="c"/> on a real file: the run ends with <paramref name="fault"/>, and the
    /// file, of its original length, is the model of the requests before the faulting one.
    /// </summary>
    private static void AssertFatal_FileIsTheModelOfWhatCameBefore(BlockCase c, GuestFault fault)
    {
        (string path, byte[] initial) = BlockRun.CreateDisk(c.Length, c.DiskSeed);
        try
        {
            BlockMachineResult result;
            using (FileBlockStore file = FileBlockStore.Open(path))
            {
                (result, _) = BlockRun.Run(file, c);
            }

            Assert.Equal(LauncherExitKind.GuestFault, result.Exit.Kind);
            Assert.Equal(fault, result.Exit.Fault);
            var model = new DiskModel(initial);
            foreach (BlockOp op in c.Batches.SelectMany(b => b))
            {
                model.Apply(op);
            }

            byte[] after = File.ReadAllBytes(path);
            Assert.Equal(c.Length, after.Length);
            Assert.Equal(model.Bytes, after);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
