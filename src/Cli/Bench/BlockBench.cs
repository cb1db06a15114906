using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using LguestSim.Backends.Simulated;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Block;
using LguestSim.Host.Threading;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Cli.Bench;

/// <summary>What <c>bench block</c> is asked to do.</summary>
/// <param name="SizeMiB">Size of the disk file.</param>
/// <param name="RequestKiB">Bytes per read, in KiB.</param>
/// <param name="Random">Random aligned offsets instead of sequential ones.</param>
/// <param name="Depth">Requests the guest keeps in flight.</param>
/// <param name="TotalMiB">Bytes read per measurement.</param>
/// <param name="Pin">Give the block worker a CPU of its own (see <see cref="BlockBench"/>).</param>
/// <param name="File">A disk file to use and keep (made if missing) instead of a temporary one.</param>
internal sealed record BlockBenchOptions(int SizeMiB, int RequestKiB, bool Random, int Depth, int TotalMiB, bool Pin = true, string? File = null)
{
    public int RequestBytes => RequestKiB * 1024;

    public long Requests => ((long)TotalMiB << 20) / RequestBytes;
}

/// <summary>One measurement: how many requests of how many bytes, in how long.</summary>
internal readonly record struct BlockRate(long Requests, long Bytes, TimeSpan Elapsed)
{
    public double MibPerSecond => Bytes / Elapsed.TotalSeconds / (1 << 20);

    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;
}

/// <summary>
/// Block reads through the whole simulated path, against the physical limit measured in the
/// same run (<c>shared/bench/README.md</c>, <c>pread_baseline.c</c>).
/// </summary>
/// <remarks>
/// <para>
/// The guest is the simulated one, behind the real Launcher, block device, worker thread,
/// Waker and a real file: it keeps <see cref="BlockBenchOptions.Depth"/> reads in flight
/// (header, one data buffer, status), kicks after each refill, and on each interrupt takes
/// what came back, checks it (status OK, used length, the first 8 bytes of the data, which
/// the file holds as its own offset) and refills. No transcript is written per request.
/// </para>
/// <para>
/// With <see cref="BlockBenchOptions.Pin"/> (the default, given two CPUs or more) the block
/// worker runs on the last CPU and every other thread of the run (the run loop, the Waker and
/// the simulated guest, which together are the vcpu) on the others. On a real lguest host
/// the guest runs inside the Launcher's own thread and the I/O thread beside it; here the
/// vcpu is three threads that take turns, and left to itself the scheduler often puts the
/// worker on their CPU, where each waits for the other.
/// </para>
/// <para>
/// The raw figure is the same pattern of reads done here with <c>pread</c> into one buffer
/// (<see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>), the loop of
/// <c>pread_baseline.c</c> in C#, so both run on the same warm page cache at the same time.
/// </para>
/// </remarks>
internal static class BlockBench
{
    private const int Rounds = 3;

    /// <summary>Creates the file, measures raw and guest reads alternately, returns the medians.</summary>
    public static (BlockRate Raw, BlockRate Guest) Measure(BlockBenchOptions options, TextWriter log)
    {
        DirectoryInfo? dir = options.File is null ? Directory.CreateTempSubdirectory("lguestsim-bench-") : null;
        try
        {
            string path = options.File ?? Path.Combine(dir!.FullName, "disk.img");
            if (dir is not null || !File.Exists(path))
            {
                CreateDisk(path, (long)options.SizeMiB << 20);
            }

            WarmPageCache(path);

            // A whole round of each first, not timed, so that what is timed is the optimised code.
            MeasureRaw(path, options);
            MeasureGuest(path, options);

            var raw = new List<BlockRate>();
            var guest = new List<BlockRate>();
            for (int round = 0; round < Rounds; round++)
            {
                raw.Add(MeasureRaw(path, options));
                guest.Add(MeasureGuest(path, options));
                log.WriteLine(FormattableString.Invariant($"round {round + 1}: raw {raw[^1].MibPerSecond:F0} MiB/s, guest {guest[^1].MibPerSecond:F0} MiB/s"));
            }

            return (Median(raw), Median(guest));
        }
        finally
        {
            dir?.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/> looks like a file <see cref="CreateDisk"/> made (its first
    /// and last words hold their own offsets), so that the guest's checks can pass.
    /// </summary>
    public static bool IsBenchDisk(string path)
    {
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long length = RandomAccess.GetLength(file);
        if (length < 8 || length % 8 != 0)
        {
            return false;
        }

        Span<byte> word = stackalloc byte[8];
        foreach (long offset in new[] { 0, length - 8 })
        {
            if (RandomAccess.Read(file, word, offset) != 8 || BinaryPrimitives.ReadUInt64LittleEndian(word) != (ulong)offset)
            {
                return false;
            }
        }

        return true;
    }

    private static BlockRate Median(List<BlockRate> rates) => rates.OrderBy(r => r.Elapsed).ElementAt(rates.Count / 2);

    /// <summary>Every 8-byte word of the file holds its own offset, so a read can be checked from its first bytes.</summary>
    private static void CreateDisk(string path, long size)
    {
        byte[] chunk = new byte[1 << 20];
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(chunk.AsSpan());
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        for (long offset = 0; offset < size; offset += chunk.Length)
        {
            for (int i = 0; i < words.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(chunk.AsSpan(i * 8), (ulong)(offset + (i * 8)));
            }

            f.Write(chunk, 0, (int)Math.Min(chunk.Length, size - offset));
        }
    }

    /// <summary>Reads the whole file once so that both measurements read from the page cache.</summary>
    private static void WarmPageCache(string path)
    {
        byte[] buffer = new byte[1 << 20];
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        while (f.Read(buffer) > 0)
        {
        }
    }

    private static BlockRate MeasureRaw(string path, BlockBenchOptions options)
    {
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        byte[] buffer = GC.AllocateArray<byte>(options.RequestBytes, pinned: true);
        var offsets = new Offsets(RandomAccess.GetLength(file), options.RequestBytes, options.Random);
        long bytes = 0;
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < options.Requests; i++)
        {
            int n = RandomAccess.Read(file, buffer, offsets.Next());
            if (n <= 0)
            {
                throw new IOException("pread returned nothing");
            }

            bytes += n;
        }

        return new BlockRate(options.Requests, bytes, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>The CPU set for the vcpu's threads and the one CPU for the worker, or null to leave the scheduler alone.</summary>
    public static (ulong Vcpu, ulong Worker)? PlanCpus(bool pin)
    {
        ulong all = pin ? CpuAffinity.GetCurrentThread() : 0;
        if (BitOperations.PopCount(all) < 2)
        {
            return null;
        }

        ulong worker = 1UL << (63 - BitOperations.LeadingZeroCount(all));
        return (all & ~worker, worker);
    }

    private static BlockRate MeasureGuest(string path, BlockBenchOptions options)
    {
        using FileBlockStore store = FileBlockStore.Open(path);
        var guest = new ReadingGuest(options, store.Length);
        ulong memory = Math.Max(64UL << 20, (ulong)options.Depth * (ulong)options.RequestBytes * 4);
        memory = (memory + 0xfffff) & ~0xfffffUL;

        // The threads the run creates (guest, Waker, worker) inherit this thread's CPU set;
        // the worker then moves itself to its own CPU.
        (ulong Vcpu, ulong Worker)? cpus = PlanCpus(options.Pin);
        ulong saved = CpuAffinity.GetCurrentThread();
        if (cpus is { } set)
        {
            CpuAffinity.TrySetCurrentThread(set.Vcpu);
        }

        BlockMachineResult result;
        try
        {
            result = BlockMachine.Run(store, guest.Run, new BlockMachineOptions
            {
                MemoryBytes = memory,
                WorkerStarting = cpus is { } c ? () => CpuAffinity.TrySetCurrentThread(c.Worker) : null,
            });
        }
        finally
        {
            CpuAffinity.TrySetCurrentThread(saved);
        }

        if (result.Exit.Kind != LauncherExitKind.GuestDied || result.Exit.Message != "CRASH: Power down")
        {
            throw new IOException($"the benchmark guest did not finish: {result.Exit.Message}");
        }

        if (guest.Failures > 0)
        {
            throw new IOException($"{guest.Failures} reads came back wrong");
        }

        return new BlockRate(guest.Completed, guest.Bytes, guest.Elapsed);
    }

    /// <summary>The offsets of <c>pread_baseline.c</c>: sequential with wrap-around, or xorshift64 over aligned slots.</summary>
    private struct Offsets(long size, int request, bool random)
    {
        private ulong _x = 88172645463325252UL;
        private long _next;

        public long Next()
        {
            if (random)
            {
                _x ^= _x << 13;
                _x ^= _x >> 7;
                _x ^= _x << 17;
                return (long)(_x % (ulong)(size / request)) * request;
            }

            if (_next + request > size)
            {
                _next = 0;
            }

            long offset = _next;
            _next += request;
            return offset;
        }
    }

    /// <summary>
    /// The guest side: a lean virtio_blk doing only reads, with its request slots allocated
    /// once, so that the guest costs as little as a real one would next to the device.
    /// </summary>
    private sealed class ReadingGuest
    {
        private readonly BlockBenchOptions _options;
        private readonly Stack<Slot> _free = new();
        private readonly Func<bool> _progressed;
        private Offsets _offsets;
        private GuestDriverQueue _queue = null!;
        private GuestContext _context = null!;
        private long _waitingFrom;

        public ReadingGuest(BlockBenchOptions options, long fileLength)
        {
            _options = options;
            _offsets = new Offsets(fileLength, options.RequestBytes, options.Random);
            _progressed = HasProgressed;
        }

        public long Completed { get; private set; }

        public long Bytes { get; private set; }

        public long Failures { get; private set; }

        public TimeSpan Elapsed { get; private set; }

        public void Run(BlockGuest guest)
        {
            _context = guest.Context;
            BusDevice device = guest.Device;
            device.AddStatus(VirtioStatus.Driver);
            _queue = device.FindVq(0, OnInterrupt);
            device.Feature(VirtioBlkConfig.FeatureBarrier);
            device.Feature(VirtioBlkConfig.FeatureSegMax);
            device.AddStatus(VirtioStatus.DriverOk);

            GuestHeap heap = _context.Heap;
            Span<byte> header0 = stackalloc byte[VirtioBlkOutHdr.Size];
            new VirtioBlkOutHdr(VirtioBlkOutHdr.TypeIn, 0, 0).Write(header0);
            for (int i = 0; i < _options.Depth; i++)
            {
                ulong header = heap.Allocate(VirtioBlkOutHdr.Size);
                ulong data = heap.Allocate((ulong)_options.RequestBytes);
                ulong status = heap.Allocate(1);
                _context.Memory.Write(header, header0);
                _free.Push(new Slot(header, data, status, (uint)_options.RequestBytes));
            }

            long total = _options.Requests;
            long issued = 0;
            long start = Stopwatch.GetTimestamp();
            while (Completed < total)
            {
                bool added = false;
                while (_free.Count > 0 && issued < total)
                {
                    Slot slot = _free.Pop();
                    slot.Offset = _offsets.Next();
                    _context.Memory.WriteU64(slot.Header + 8, (ulong)slot.Offset / 512);
                    _context.Memory.WriteU8(slot.Status, 0xff);
                    _queue.TryAddBuf(slot.Readable, slot.Writable, slot);
                    issued++;
                    added = true;
                }

                if (added)
                {
                    _queue.Kick();
                }

                _waitingFrom = Completed;
                _context.WaitUntil(_progressed);
            }

            Elapsed = Stopwatch.GetElapsedTime(start);
        }

        private bool HasProgressed() => Completed > _waitingFrom;

        private void OnInterrupt()
        {
            while (_queue.TryGetBuf(out object? token, out uint length, out _))
            {
                var slot = (Slot)token!;
                byte status = _context.Memory.ReadU8(slot.Status);
                ulong first = _context.Memory.ReadU64(slot.Data);
                if (status != VirtioBlkOutHdr.StatusOk || length != slot.Length + 1 || first != (ulong)slot.Offset)
                {
                    Failures++;
                }

                Bytes += length - 1;
                Completed++;
                _free.Push(slot);
            }
        }
    }

    /// <summary>One request's buffers, laid out once: a readable header, the data and the status.</summary>
    private sealed class Slot(ulong header, ulong data, ulong status, uint length)
    {
        public ulong Header { get; } = header;

        public ulong Data { get; } = data;

        public ulong Status { get; } = status;

        public uint Length { get; } = length;

        public long Offset { get; set; }

        public GuestBuffer[] Readable { get; } = [new GuestBuffer(header, VirtioBlkOutHdr.Size)];

        public GuestBuffer[] Writable { get; } = [new GuestBuffer(data, length), new GuestBuffer(status, 1)];
    }
}
