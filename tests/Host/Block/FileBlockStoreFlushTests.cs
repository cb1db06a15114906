using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Launch;
using LguestSim.Host.Block;
using Xunit;

namespace LguestSim.Tests.Host.Block;

/// <summary>
/// A barrier really reaches <c>fdatasync(2)</c>. A killed process never loses the page cache,
/// so no kill test can tell; <c>/dev/null</c> can: it has no fsync operation, and the kernel
/// answers EINVAL to anyone who asks it to sync.
/// </summary>
public sealed class FileBlockStoreFlushTests
{
    private const int Einval = 22;

    [Fact]
    public void FlushData_CallsFdatasync_WhichDevNullRefusesWithEinval()
    {
        using FileBlockStore store = FileBlockStore.Open("/dev/null");
        Assert.Equal(-Einval, store.FlushData());
    }

    [Fact]
    public void FlushData_OnARegularFile_Succeeds()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[4096]);
            using FileBlockStore store = FileBlockStore.Open(path);
            Assert.Equal(0, store.FlushData());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Through the whole device: a barrier request on a block file that cannot be synced is
    /// IOERR (its flush failed, so earlier writes may not be durable); a plain one is OK.
    /// </summary>
    [Fact]
    public void BarrierRequest_OnAFileThatCannotSync_IsIoErr()
    {
        var statuses = new List<byte>();
        BlockMachineResult result;
        using (FileBlockStore store = FileBlockStore.Open("/dev/null"))
        {
            result = BlockMachine.Run(store, guest =>
            {
                BlockDriver driver = guest.ProbeDriver();
                foreach (uint type in new[] { VirtioBlkOutHdr.TypeIn, VirtioBlkOutHdr.TypeIn | VirtioBlkOutHdr.TypeBarrier })
                {
                    driver.Submit(new BlockRequest { Type = type, Sector = 0, Data = [], Completed = r => statuses.Add(r.Status) });
                    driver.KickAndWait();
                }
            });
        }

        Assert.True(result.Exit.Kind == LauncherExitKind.GuestDied, $"run ended: {result.Exit}");
        Assert.Equal([VirtioBlkOutHdr.StatusOk, VirtioBlkOutHdr.StatusIoErr], statuses);
    }
}
