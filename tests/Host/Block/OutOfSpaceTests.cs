using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using Xunit;

namespace LguestSim.Tests.Host.Block;

/// <summary>A real disk-full: the block file is sparse on a 256 KiB tmpfs, and the guest writes more than fits.</summary>
public sealed class OutOfSpaceTests
{
    private const int WriteBytes = 48 * 1024;
    private const int Writes = 10;

    /// <summary>
    /// Writes that fit are OK; the one that crosses the end of the space lands only in part
    /// (a short pwritev, then ENOSPC) and is IOERR, not OK; the ones after it are IOERR too;
    /// and the Launcher keeps serving: what was written reads back, a hole reads as zeros,
    /// and the guest powers off normally.
    /// </summary>
    [TmpfsFact]
    public void DiskFull_GivesIoErr_ForTheWritesThatDoNotFit_AndTheLauncherCarriesOn()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");
        string path = Path.Combine(tmpfs.Path, "disk.img");
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength(1 << 20); // sparse: every write needs new pages
        }

        var writes = new List<BlockRequest>();
        var reads = new List<BlockRequest>();
        BlockMachineResult result;
        using (FileBlockStore store = FileBlockStore.Open(path))
        {
            result = BlockMachine.Run(store, guest =>
            {
                BlockDriver driver = guest.ProbeDriver();
                for (int i = 0; i < Writes; i++)
                {
                    // Two segments, so that the write that hits the end stops inside one of them.
                    driver.Submit(new BlockRequest { Type = VirtioBlkOutHdr.TypeOut, Sector = (ulong)(i * WriteBytes / 512), Data = Pattern(i), Segments = 2, Completed = writes.Add });
                    if (i % 2 == 1)
                    {
                        driver.KickAndWait();
                    }
                }

                driver.Submit(new BlockRequest { Type = VirtioBlkOutHdr.TypeIn, Sector = 0, Data = new byte[WriteBytes], Completed = reads.Add });
                driver.Submit(new BlockRequest { Type = VirtioBlkOutHdr.TypeIn, Sector = (1 << 20) / 512 - 8, Data = new byte[4096], Completed = reads.Add });
                driver.KickAndWait();
            });
        }

        Assert.Equal(LauncherExitKind.GuestDied, result.Exit.Kind);
        Assert.Equal("CRASH: Power down", result.Exit.Message);
        Assert.Equal(Writes, writes.Count);

        // 256 KiB hold five 48 KiB writes and 16 KiB of the sixth.
        byte[] statuses = writes.Select(w => w.Status).ToArray();
        Assert.Equal(Enumerable.Repeat(VirtioBlkOutHdr.StatusOk, 5).Concat(Enumerable.Repeat(VirtioBlkOutHdr.StatusIoErr, Writes - 5)), statuses);
        Assert.All(writes, w => Assert.Equal(1u, w.UsedLength));

        Assert.Equal([VirtioBlkOutHdr.StatusOk, VirtioBlkOutHdr.StatusOk], reads.Select(r => r.Status));
        Assert.Equal(Pattern(0), reads[0].ReadBack);
        Assert.Equal(new byte[4096], reads[1].ReadBack);
        Assert.Equal(1L << 20, new FileInfo(path).Length);
    }

    private static byte[] Pattern(int seed)
    {
        byte[] data = new byte[WriteBytes];
        new Random(seed + 1).NextBytes(data);
        return data;
    }
}
