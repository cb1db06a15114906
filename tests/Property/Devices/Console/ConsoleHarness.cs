using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Devices;
using LguestSim.Engine.Devices.Console;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

// Not ".Console": a namespace of that name would hide System.Console from every test in the
// enclosing namespaces.
namespace LguestSim.Tests.Property.Devices.ConsoleTests;

/// <summary>
/// A console device on a real device page, driven directly: the test plays the guest (raw
/// descriptors in the rings), the host port (scripted reads, recorded writes), the Launcher
/// (a recording <see cref="IDeviceContext"/>) and the clock.
/// </summary>
internal sealed class ConsoleHarness
{
    public const ulong Mem = 1 << 20;
    public const ulong InputBuffer = 0x10000;
    public const ulong OutputBuffer = 0x20000;

    public ConsoleHarness(DateTimeOffset? start = null)
    {
        Memory = new ManagedGuestMemory(DevicePage.CapacityFor(Mem), Mem);
        var page = new DevicePage(Memory);
        Clock = new ManualClock(start ?? DateTimeOffset.FromUnixTimeSeconds(1_000_000));
        Device = ConsoleDevice.Create(page, Port, Clock);
        Context = new RecordingContext(Memory);
    }

    public ManagedGuestMemory Memory { get; }

    public ManualClock Clock { get; }

    public ScriptedPort Port { get; } = new();

    public ConsoleDevice Device { get; }

    public RecordingContext Context { get; }

    /// <summary>Offers one descriptor <paramref name="index"/> as a chain on <paramref name="queue"/>.</summary>
    public void Offer(Virtqueue queue, ushort index, ulong addr, uint len, ushort flags, ushort next = 0)
    {
        SetDesc(queue, index, addr, len, flags, next);
        Publish(queue, index);
    }

    /// <summary>Writes a descriptor without publishing it (for chains).</summary>
    public void SetDesc(Virtqueue queue, ushort index, ulong addr, uint len, ushort flags, ushort next = 0) =>
        GuestRingWrites.SetDesc(Memory, queue, index, addr, len, flags, next);

    /// <summary>Puts <paramref name="head"/> in the avail ring and bumps avail.idx.</summary>
    public void Publish(Virtqueue queue, ushort head) => GuestRingWrites.Publish(Memory, queue, head);

    /// <summary>Offers the guest's 16-byte input buffer as descriptor 0.</summary>
    public void OfferInput() => Offer(Device.InputQueue, 0, InputBuffer, 16, VringDesc.FlagWrite);

    public ushort UsedIdx(Virtqueue queue) => GuestRingWrites.UsedIdx(Memory, queue);

    public (uint Id, uint Len) UsedElem(Virtqueue queue, int slot)
    {
        ulong e = queue.RingAddress + (ulong)queue.Layout.UsedOffset + 4 + (8UL * (ulong)slot);
        return (Memory.ReadU32(e), Memory.ReadU32(e + 4));
    }

    /// <summary>Types <paramref name="data"/> as one read at <paramref name="at"/> and lets the device service it with a fresh buffer.</summary>
    public bool TypeOneRead(byte[] data, DateTimeOffset at)
    {
        Clock.Now = at;
        Port.Reads.Enqueue(data);
        OfferInput();
        return Input();
    }

    /// <summary>Lets the device service input, which must not fault; whether it keeps listening.</summary>
    public bool Input()
    {
        Assert.Null(Device.HandleInput(Context, out bool keepListening));
        return keepListening;
    }

    internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>An <see cref="IConsolePort"/> whose reads are scripted (bytes, or a negative errno) and whose writes are recorded.</summary>
    internal sealed class ScriptedPort : IConsolePort
    {
        public Queue<object> Reads { get; } = new();

        public List<byte[]> Written { get; } = new();

        public int? WriteResult { get; set; }

        public int InputFailures { get; private set; }

        public InputSource Input { get; } = new Ready();

        public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
        {
            object next = Reads.Count > 0 ? Reads.Dequeue() : 0;
            if (next is int code)
            {
                return code;
            }

            byte[] data = (byte[])next;
            int done = 0;
            foreach (GuestBuffer b in buffers)
            {
                int n = Math.Min((int)b.Length, data.Length - done);
                memory.Write(b.Address, data.AsSpan(done, n));
                done += n;
            }

            return done;
        }

        public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
        {
            var all = new List<byte>();
            foreach (GuestBuffer b in buffers)
            {
                all.AddRange(memory.GetSpan(b.Address, b.Length).ToArray());
            }

            Written.Add(all.ToArray());
            return WriteResult ?? all.Count;
        }

        public void InputFailed() => InputFailures++;

        private sealed class Ready : InputSource
        {
            public override bool IsReady => true;
        }
    }

    internal sealed class RecordingContext(GuestMemory memory) : IDeviceContext
    {
        public GuestMemory Memory { get; } = memory;

        public List<string> Warnings { get; } = new();

        public List<Virtqueue> Interrupts { get; } = new();

        public int EnableInputCalls { get; private set; }

        public int? ExitStatus { get; private set; }

        public string? ExitReason { get; private set; }

        /// <summary>Every interrupt is refused, as the kernel refuses one for a page the guest rewrote.</summary>
        public bool RejectInterrupts { get; set; }

        public GuestFaultException? TriggerIrq(Virtqueue queue)
        {
            Interrupts.Add(queue);
            return RejectInterrupts ? new GuestFaultException(GuestFault.InterruptRejected, "refused by the test") : null;
        }

        public void EnableInput(VirtioDevice device) => EnableInputCalls++;

        public void Warn(string message) => Warnings.Add(message);

        public void RequestExit(int status, string reason)
        {
            ExitStatus ??= status;
            ExitReason ??= reason;
        }
    }
}
