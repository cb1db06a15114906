using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Virtio;

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
    /// <param name="store">The store the device serves.</param>
    /// <param name="c">The requests.</param>
    /// <param name="acknowledged">Called on the guest, as it sees each request complete, with the request's index.</param>
    public static (BlockMachineResult Result, List<Outcome> Outcomes) Run(IBlockStore store, BlockCase c, Action<int, Outcome>? acknowledged = null)
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
                        Completed = r =>
                        {
                            var outcome = new Outcome(op, r.Status, r.UsedLength, r.ReadBack);
                            outcomes.Add(outcome);
                            acknowledged?.Invoke(outcomes.Count - 1, outcome);
                        },
                    });
                }

                driver.KickAndWait();
            }

            if (c.Malformed is { } bad)
            {
                SubmitMalformed(guest, driver, bad);
                driver.KickAndWait();
            }
        }, new BlockMachineOptions { MemoryBytes = 16UL << 20, HaltTimeout = TimeSpan.FromSeconds(20) });
        return (result, outcomes);
    }

    /// <summary>Puts <paramref name="bad"/> on the ring as one chain, past the driver's own bookkeeping of requests.</summary>
    private static void SubmitMalformed(BlockGuest guest, BlockDriver driver, MalformedRequest bad)
    {
        GuestHeap heap = guest.Context.Heap;
        IGuestPhysicalMemory memory = guest.Context.Memory;
        var readable = new List<GuestBuffer>();
        if (bad.HeaderLength >= 0)
        {
            ulong header = heap.Allocate((ulong)Math.Max(bad.HeaderLength, VirtioBlkOutHdr.Size) + 8) + (ulong)bad.HeaderMisalign;
            Span<byte> raw = stackalloc byte[VirtioBlkOutHdr.Size];
            new VirtioBlkOutHdr(bad.Type, 0, 0).Write(raw);
            memory.Write(header, raw);
            readable.Add(new GuestBuffer(header, (uint)bad.HeaderLength));
        }

        ulong Buffer(int length) => heap.Allocate((ulong)Math.Max(length, 1));
        readable.AddRange(bad.ReadableData.Select(len => new GuestBuffer(Buffer(len), (uint)len)));
        var writable = bad.WritableData.Select(len => new GuestBuffer(Buffer(len), (uint)len)).ToList();
        if (bad.StatusLength >= 0)
        {
            writable.Add(new GuestBuffer(Buffer(bad.StatusLength), (uint)bad.StatusLength));
        }

        if (driver.Queue.TryAddBuf(readable.ToArray(), writable.ToArray(), bad) < 0)
        {
            throw new InvalidOperationException("the ring has no room for the malformed request");
        }
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
