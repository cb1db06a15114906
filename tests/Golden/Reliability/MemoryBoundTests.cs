using System.Diagnostics;
using LguestSim.Backends.Simulated;
using Xunit;

namespace LguestSim.Tests.Golden.Reliability;

/// <summary>
/// Issue 13 item 3: whatever the simulated host side or the transcript keeps from a hostile
/// guest, it keeps within a fixed bound and says how much it left out; a frame longer than a
/// tap takes is refused as a real tap refuses it; and the largest legal chain on every queue
/// runs with the managed heap capped at 256 MiB.
/// </summary>
public sealed class MemoryBoundTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lguestsim-bounds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Device page layout with only a console: vq0 (input) ring at mem+0x1000, vq1 (output)
    // at mem+0x4000; with "net" first, net's tx queue is vq1 of the first device.
    private static string ChainOf(string device, int vq, int buffers, string len, ushort flags) =>
        string.Concat(Enumerable.Range(0, buffers).Select(i =>
            $"ring.desc {device} {vq} {i} addr=0 len={len} flags={(i < buffers - 1 ? flags | 1 : flags)} next={i + 1}\n"))
        + $"ring.publish {device} {vq} 0\nring.kick {device} {vq}\n";

    [Fact]
    public void ConsoleOutput_EightOverlapping64MiBBuffers_IsBoundedAndSaysWhatItLeftOut()
    {
        SimulationResult result = ScenarioText.Run("memory 64\nboot\n" + ChainOf("console", 1, 8, "0x4000000", 0) + "poweroff\n");
        Assert.True(result.Transcript.Length < 1 << 20, $"transcript of {result.Transcript.Length} chars");
        Assert.Contains("bytes left out", result.Transcript, StringComparison.Ordinal);
        Assert.Contains("console: 536870912 bytes of output", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void NetTransmit_LongerThanATapTakes_IsRefusedAndDropped()
    {
        SimulationResult result = ScenarioText.Run("memory 64\nnet\nboot\n" + NetChain(1, 1, "0x20000", 0) + "poweroff\n");
        Assert.Equal(0, result.ExitStatus);
        Assert.Contains("net: tap write failed", result.Transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargestLegalChains_RunWithTheHeapCappedAt256MiB()
    {
        // 128 descriptors (VIRTQUEUE_NUM), each the whole of guest RAM, on the console output
        // and the net transmit queue; a read of 126 full-RAM segments on the block queue.
        // 128 descriptors (VIRTQUEUE_NUM), each all of guest RAM, on the console's and the
        // net device's queues, both directions; on the block queue, a read of 126 segments
        // (seg_max) of 16 MiB in all.
        string text = "memory 128\nnet\nblock size=16M\nboot\n"
            + ChainOf("console", 1, 128, "0x8000000", 0)
            + NetChain(1, 127, "0x8000000", 0)
            + ChainOf("console", 0, 128, "0x8000000", 2) + "host.type \"x\"\nidle\n"
            + "block.read sector=0 count=32768 segments=126\n"
            + NetChain(0, 127, "0x8000000", 2) + "host.net.send len=1514\nidle\n"
            + "poweroff\n";
        string path = Path.Combine(_dir, "largest.scenario");
        File.WriteAllText(path, text);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lguestsim.dll"));
        psi.ArgumentList.Add("sim");
        psi.ArgumentList.Add("--scenario");
        psi.ArgumentList.Add(path);
        psi.Environment["DOTNET_GCHeapHardLimit"] = "0x10000000";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(120)), "did not finish in 120 s");
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode is 0 or 1, $"exit {p.ExitCode}:\n{output[..Math.Min(output.Length, 4000)]}");
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Out of memory", output, StringComparison.Ordinal);
        Assert.Contains("net: tap write failed (Message too long)", output, StringComparison.Ordinal);
        Assert.Contains("more bytes left out", output, StringComparison.Ordinal);
        Assert.Contains("host: tap send len=1514", output, StringComparison.Ordinal);
        Assert.Contains("guest: net rx head=0", output, StringComparison.Ordinal);
        Assert.Contains("block: 2 requests completed", output, StringComparison.Ordinal);
        Assert.Contains("\nexit status ", output, StringComparison.Ordinal);
    }

    // A 10-byte virtio_net_hdr in descriptor 0, then the data descriptors 1..n of the same chain.
    private static string NetChain(int vq, int data, string len, int flags) =>
        $"ring.desc net {vq} 0 addr=0 len=10 flags={flags | 1} next=1\n"
        + string.Concat(Enumerable.Range(1, data).Select(i => $"ring.desc net {vq} {i} addr=0 len={len} flags={(i < data ? flags | 1 : flags)} next={i + 1}\n"))
        + $"ring.publish net {vq} 0\nring.kick net {vq}\n";
}
