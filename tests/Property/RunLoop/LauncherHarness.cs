using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Channel;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Block;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Block;
using LguestSim.Tests.Property.Devices.ConsoleTests;
using LguestSim.Tests.Property.Infrastructure;

// Not ".Launch": a namespace of that name would hide LguestSim.Engine.Launch from tests in
// the enclosing namespaces that spell it Engine.Launch.
namespace LguestSim.Tests.Property.RunLoop;

/// <summary>
/// A real <see cref="Launcher"/> over a real device page with a block device (over a
/// <see cref="MemoryBlockStore"/>) and a console (over a scripted port), driven by a scripted
/// channel: the test plays the guest (raw stores into rings and records, between the channel
/// events it scripts), the kernel (the events, and whether an interrupt is taken) and the Waker
/// (a recording one, which never breaks by itself).
/// </summary>
internal sealed class LauncherHarness : IDisposable
{
    public const ulong Mem = 1 << 20;

    /// <summary>Guest RAM for request headers, data and status bytes.</summary>
    public const ulong Buffers = 0x10000;

    public LauncherHarness(GuestErrorMode mode = GuestErrorMode.Exit, bool settleAtBreak = false, IBlockStore? store = null, bool blockOnCaller = false)
    {
        Memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(Memory);
        Store = store ?? new MemoryBlockStore(new byte[8 * 512]);
        Block = BlockDevice.Create(page, Store);
        Block.ServeOnCallerThread = blockOnCaller;
        Console = ConsoleDevice.Create(page, Port);
        Waker = new RecordingWaker(source => source == Block.Input ? "block" : source == Console.Input ? "console" : "another source");
        Launcher = new Launcher(Channel, page, [Block, Console], Waker, Observer) { GuestErrors = mode, SettleDevicesAtBreak = settleAtBreak };
    }

    public ManagedGuestMemory Memory { get; }

    public IBlockStore Store { get; }

    public BlockDevice Block { get; }

    public ConsoleDevice Console { get; }

    public ConsoleHarness.ScriptedPort Port { get; } = new();

    public ScriptedChannel Channel { get; } = new();

    public RecordingWaker Waker { get; }

    public RecordingObserver Observer { get; } = new();

    public Launcher Launcher { get; }

    /// <summary>The address whose notify asks for the queue's handler (its ring's page).</summary>
    public static uint NotifyAddress(Virtqueue queue) => queue.Config.Pfn * (uint)LguestLayout.PageSize;

    /// <summary>The guest acknowledges the device and its driver is ready (status 7).</summary>
    public void DriverOk(VirtioDevice device) =>
        Memory.WriteU8(device.Record.DescriptorAddress + LguestDeviceDesc.StatusOffset, (byte)(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.DriverOk));

    /// <summary>Writes descriptor <paramref name="index"/> of <paramref name="queue"/>.</summary>
    public void SetDesc(Virtqueue queue, ushort index, ulong addr, uint len, ushort flags, ushort next = 0) =>
        GuestRingWrites.SetDesc(Memory, queue, index, addr, len, flags, next);

    /// <summary>Puts <paramref name="head"/> in the avail ring and bumps <c>avail.idx</c>.</summary>
    public void Publish(Virtqueue queue, ushort head) => GuestRingWrites.Publish(Memory, queue, head);

    public ushort UsedIdx(Virtqueue queue) => GuestRingWrites.UsedIdx(Memory, queue);

    /// <summary>A console output chain of one readable buffer holding <paramref name="text"/>, published.</summary>
    public void OfferOutput(ushort head, string text, ushort flags = 0)
    {
        ulong at = Buffers + ((ulong)head * 0x100);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(text);
        Memory.Write(at, bytes);
        SetDesc(Console.OutputQueue, head, at, (uint)bytes.Length, flags);
        Publish(Console.OutputQueue, head);
    }

    /// <summary>
    /// A block request as chain <paramref name="head"/> (descriptors head..head+2): header, one
    /// sector of data (readable for a write, writable for a read), status byte; published.
    /// </summary>
    public void OfferBlockRequest(ushort head, uint type, ulong sector, byte fill = 0)
    {
        ulong at = Buffers + 0x8000 + ((ulong)head * 0x400);
        Span<byte> header = stackalloc byte[VirtioBlkOutHdr.Size];
        new VirtioBlkOutHdr(type, 0, sector).Write(header);
        Memory.Write(at, header);
        bool write = (type & VirtioBlkOutHdr.TypeOut) != 0;
        Memory.GetSpan(at + 0x10, 512).Fill(fill);
        Virtqueue q = Block.Queue;
        SetDesc(q, head, at, VirtioBlkOutHdr.Size, VringDesc.FlagNext, (ushort)(head + 1));
        SetDesc(q, (ushort)(head + 1), at + 0x10, 512, (ushort)(VringDesc.FlagNext | (write ? 0 : VringDesc.FlagWrite)), (ushort)(head + 2));
        SetDesc(q, (ushort)(head + 2), at + 0x300, 1, VringDesc.FlagWrite);
        Publish(q, head);
    }

    /// <summary>A block chain of one readable buffer only: no status byte (<see cref="GuestFault.BlockBadRequestShape"/>).</summary>
    public void OfferBadBlockRequest(ushort head)
    {
        ulong at = Buffers + 0x8000 + ((ulong)head * 0x400);
        Span<byte> header = stackalloc byte[VirtioBlkOutHdr.Size];
        new VirtioBlkOutHdr(VirtioBlkOutHdr.TypeIn, 0, 0).Write(header);
        Memory.Write(at, header);
        SetDesc(Block.Queue, head, at, VirtioBlkOutHdr.Size, 0);
        Publish(Block.Queue, head);
    }

    public void Dispose() => Block.Dispose();

    /// <summary>Waits (generously) for <paramref name="condition"/>, made true by another thread.</summary>
    public static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            Thread.Sleep(1);
        }
    }
}

/// <summary>
/// The kernel's side of the run, scripted: each <see cref="Run"/> takes the next step, which
/// may first act as the guest, then returns the event that stopped it. When the script runs
/// out the guest dies ("end of script").
/// </summary>
internal sealed class ScriptedChannel : ILguestChannel
{
    private readonly Queue<Func<ChannelEvent>> _script = new();

    /// <summary>The number of <see cref="Run"/> calls so far.</summary>
    public int Runs { get; private set; }

    /// <summary>Each interrupt raised: its irq and the <see cref="Runs"/> count it was raised at.</summary>
    public List<(uint Irq, int AtRun)> Interrupts { get; } = new();

    /// <summary>What <see cref="Interrupt"/> answers (false: the kernel refused the irq).</summary>
    public bool AcceptInterrupts { get; set; } = true;

    public int ReleasedBreaks { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>Refuse <c>LHREQ_INITIALIZE</c>, as a kernel refuses a bad one (EINVAL).</summary>
    public bool RefuseInitialize { get; init; }

    /// <summary>The page directory and entry <c>LHREQ_INITIALIZE</c> got.</summary>
    public (uint PageDirectory, uint Entry) Initialized { get; private set; }

    /// <summary>Where "channel disposed" is written, if anywhere.</summary>
    public List<string>? Log { get; init; }

    public ScriptedChannel Then(ChannelEvent ev) => Then(() => ev);

    public ScriptedChannel Then(Func<ChannelEvent> step)
    {
        _script.Enqueue(step);
        return this;
    }

    /// <summary>Acts as the guest (<paramref name="guest"/>), then notifies <paramref name="address"/>.</summary>
    public ScriptedChannel Then(Action guest, uint address) => Then(() =>
    {
        guest();
        return ChannelEvent.Notify(address);
    });

    public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
    {
        if (RefuseInitialize)
        {
            throw new LguestHostException("LHREQ_INITIALIZE", 22);
        }

        Initialized = (pageDirectory, entryPoint);
    }

    public ChannelEvent Run()
    {
        Runs++;
        return _script.Count > 0 ? _script.Dequeue()() : ChannelEvent.Died("end of script");
    }

    public bool Interrupt(uint irq)
    {
        Interrupts.Add((irq, Runs));
        return AcceptInterrupts;
    }

    public void Break()
    {
    }

    public void ReleaseBreak() => ReleasedBreaks++;

    public void Dispose()
    {
        Disposed = true;
        Log?.Add("channel disposed");
    }
}

/// <summary>A Waker that only writes down what it is told to watch: "add NAME", "remove NAME", each source named by <paramref name="name"/>.</summary>
internal sealed class RecordingWaker(Func<InputSource, string> name) : IWaker
{
    public List<string> Log { get; } = new();

    public void Add(InputSource source) => Log.Add($"add {name(source)}");

    public void Remove(InputSource source) => Log.Add($"remove {name(source)}");

    public void Dispose() => Log.Add("disposed");
}

/// <summary>Writes down what the Launcher reports, one line each ("reset block", "isolated block BlockBadRequestShape", "warning …").</summary>
internal sealed class RecordingObserver : ILauncherObserver
{
    public List<string> Log { get; } = new();

    public IEnumerable<string> Warnings => Log.Where(l => l.StartsWith("warning ", StringComparison.Ordinal)).Select(l => l["warning ".Length..]);

    public void OnNotify(uint address)
    {
    }

    public void OnReset(VirtioDevice device) => Log.Add($"reset {device.Name}");

    public void OnInterrupt(VirtioDevice device, Virtqueue queue) => Log.Add($"interrupt {device.Name}");

    public void OnEarlyOutput(ReadOnlySpan<byte> text) => Log.Add($"early {System.Text.Encoding.ASCII.GetString(text)}");

    public void OnIsolated(VirtioDevice device, GuestFaultException fault) => Log.Add($"isolated {device.Name} {fault.Fault}");

    public void OnWarning(string message) => Log.Add($"warning {message}");
}
