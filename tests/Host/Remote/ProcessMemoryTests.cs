using System.Globalization;
using System.Runtime.InteropServices;
using LguestSim.Engine;
using LguestSim.Host.Remote;
using Xunit;

namespace LguestSim.Tests.Host.Remote;

/// <summary>
/// <see cref="ProcessMemory"/>: process_vm_readv/writev round trips in this process (by its pid
/// and by another thread's id) and in a real child process, and EFAULT on an unmapped address.
/// </summary>
public sealed class ProcessMemoryTests
{
    private const int EFAULT = 14;

    [Fact]
    public void OwnProcess_WriteThenRead_RoundTrips()
    {
        byte[] target = GC.AllocateArray<byte>(64, pinned: true);
        ulong address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(target, 0);
        var memory = new ProcessMemory(Environment.ProcessId);

        memory.Write(address + 8, [1, 2, 3, 4, 5]);
        Assert.Equal([0, 1, 2, 3, 4, 5, 0], target[7..14]);

        target[40] = 0x77;
        byte[] back = new byte[3];
        memory.Read(address + 39, back);
        Assert.Equal([0, 0x77, 0], back);
    }

    [Fact]
    public void AnotherThreadsId_ReachesTheSameMemory()
    {
        // FUSE names the calling thread, not the process: any task id of the process must do.
        int pid = Environment.ProcessId;
        int tid = Directory.EnumerateDirectories("/proc/self/task")
            .Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))
            .First(t => t != pid);
        byte[] target = GC.AllocateArray<byte>(16, pinned: true);
        ulong address = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(target, 0);
        var memory = new ProcessMemory(tid);

        memory.Write(address, "by thread"u8);
        byte[] back = new byte[9];
        memory.Read(address, back);
        Assert.Equal("by thread"u8.ToArray(), back);
        Assert.Equal("by thread"u8.ToArray(), target[..9]);
    }

    [Fact]
    public void UnmappedAddress_IsEfault()
    {
        var memory = new ProcessMemory(Environment.ProcessId);
        var e = Assert.Throws<LguestHostException>(() => memory.Read(0x1000, new byte[4]));
        Assert.Equal(EFAULT, e.Errno);
        Assert.Equal(EFAULT, memory.TryWrite(0x1000, [1]));
    }

    [Fact]
    public void CopyRunningOffTheEndOfAMapping_CopiesThePrefixThenEfault()
    {
        using var child = new ChildProcess();
        var maps = child.Mappings();

        // A readable ordinary mapping with a hole after it.
        var (_, end, _, _) = maps.Zip(maps.Skip(1))
            .First(p => p.First.Perms[0] == 'r' && !p.First.Path.StartsWith('[') && p.First.End < p.Second.Start).First;
        var memory = new ProcessMemory(child.Id);
        byte[] last = new byte[4096];
        memory.Read(end - 4096, last);

        byte[] buffer = new byte[8192];
        Assert.Equal(EFAULT, memory.TryRead(end - 4096, buffer));
        Assert.Equal(last, buffer[..4096]);
    }

    [Fact]
    public void ChildProcess_ReadsItsExecutable_AndWritesItsMemory()
    {
        using var child = new ChildProcess();
        var memory = new ProcessMemory(child.Id);

        // Its executable's first page is mapped at file offset 0: the ELF header, as on disk.
        (ulong elf, _, string path) = child.Mapping(p => p.EndsWith("/cat", StringComparison.Ordinal));
        byte[] header = new byte[64];
        memory.Read(elf, header);
        Assert.Equal(File.ReadAllBytes(path)[..64], header);

        // The deepest page of its stack is mapped, writable and unused.
        (ulong stack, _, _) = child.Mapping(p => p == "[stack]");
        byte[] pattern = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        memory.Write(stack + 16, pattern);
        byte[] back = new byte[300];
        memory.Read(stack + 16, back);
        Assert.Equal(pattern, back);
    }
}
