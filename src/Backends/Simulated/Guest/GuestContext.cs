using System.Diagnostics.CodeAnalysis;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The simulated guest kernel's shared state: its memory, its vcpu, its buffer heap, its
/// interrupt table and the transcript it writes to.
/// </summary>
public sealed class GuestContext
{
    private readonly Dictionary<uint, IrqLine> _irqs = new();
    private bool _inInterrupt;

    /// <summary>Creates the guest over <paramref name="memory"/> of <paramref name="memorySize"/> bytes of RAM.</summary>
    /// <param name="memory">Guest memory, reached by copying in and out.</param>
    /// <param name="memorySize">RAM size in bytes.</param>
    /// <param name="cpu">The vcpu.</param>
    /// <param name="transcript">Where the guest reports.</param>
    /// <param name="freeTop">End of the RAM the guest may use for buffers: below the Launcher's page tables and initrd.</param>
    public GuestContext(IGuestPhysicalMemory memory, ulong memorySize, IGuestCpu cpu, T transcript, ulong freeTop)
    {
        Memory = memory;
        MemorySize = memorySize;
        Cpu = cpu;
        Transcript = transcript;

        // Buffers come from the upper half of RAM: clear of a kernel loaded at 1 MiB, and below
        // the page tables and initrd the Launcher put at the top.
        Heap = new GuestHeap(memorySize / 2, freeTop);
    }

    /// <summary>Guest memory: copied in and out at an address, never held as a span.</summary>
    public IGuestPhysicalMemory Memory { get; }

    /// <summary>RAM size in bytes (e820).</summary>
    public ulong MemorySize { get; }

    /// <summary>The vcpu: hypercalls and interrupts.</summary>
    public IGuestCpu Cpu { get; }

    /// <summary>The transcript.</summary>
    public T Transcript { get; }

    /// <summary>The buffer allocator.</summary>
    public GuestHeap Heap { get; }

    /// <summary>
    /// The simulator's answer to "did the Launcher isolate the device whose record is at this
    /// address?" (<c>--guest-errors=isolate</c>), or null when nobody can tell (the guest then
    /// waits as a real one would). Not something a real guest can see: it lets the simulated
    /// guest give up a wait that nothing will ever end, at a point fixed by the run (the
    /// Launcher isolates only while the guest is stopped), instead of after a wall-clock timeout.
    /// </summary>
    public Func<ulong, bool>? IsIsolated { get; init; }

    /// <summary><c>LHCALL_NOTIFY</c>, then handle any interrupt raised meanwhile, as on return from a hypercall.</summary>
    public void Notify(uint address)
    {
        Cpu.Notify(address);
        DeliverInterrupts();
    }

    /// <summary>Registers <paramref name="queue"/>'s irq and the driver's callback (which may be null).</summary>
    public void RegisterIrq(uint irq, GuestDriverQueue queue, Action? callback, string name)
    {
        _irqs[irq] = new IrqLine(queue, callback, name);
    }

    /// <summary>
    /// Runs the handlers of pending interrupts (the ring's interrupt handler of spec §8.4:
    /// nothing used → not mine; broken or NO_INTERRUPT → swallowed; else the callback).
    /// </summary>
    public void DeliverInterrupts()
    {
        if (_inInterrupt)
        {
            return;
        }

        _inInterrupt = true;
        try
        {
            while (Cpu.TryTakeInterrupt(out uint irq))
            {
                if (!_irqs.TryGetValue(irq, out IrqLine? line))
                {
                    Transcript.Line($"guest: spurious irq {irq}");
                    continue;
                }

                if (!line.Queue.HasUsed || line.Queue.IsBroken || line.Queue.CallbacksDisabled || line.Callback is null)
                {
                    continue;
                }

                line.Callback();
            }
        }
        finally
        {
            _inInterrupt = false;
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds: handle interrupts, test, halt, again.
    /// A halted guest wakes on an interrupt or on the next break of its run.
    /// </summary>
    /// <param name="device">The device whose work the wait is for: the record's address and the device's name.</param>
    /// <param name="condition">What ends the wait.</param>
    /// <exception cref="DeviceIsolatedException">
    /// The condition does not hold and the Launcher has isolated <paramref name="device"/>
    /// (<see cref="IsIsolated"/>): nothing will make it hold before a reset.
    /// </exception>
    public void WaitUntil((ulong Address, string Name) device, Func<bool> condition)
    {
        while (true)
        {
            DeliverInterrupts();
            if (condition())
            {
                return;
            }

            if (IsIsolated?.Invoke(device.Address) == true)
            {
                throw new DeviceIsolatedException(device.Name);
            }

            Cpu.Halt();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, for no device in particular (benches, tests).</summary>
    public void WaitUntil(Func<bool> condition)
    {
        while (true)
        {
            DeliverInterrupts();
            if (condition())
            {
                return;
            }

            Cpu.Halt();
        }
    }

    /// <summary><see cref="WaitUntil((ulong, string), Func{bool})"/> for work of <paramref name="device"/>.</summary>
    /// <exception cref="DeviceIsolatedException">The Launcher has isolated <paramref name="device"/>.</exception>
    public void WaitUntil(BusDevice device, Func<bool> condition) => WaitUntil((device.Address, device.Name), condition);

    /// <summary>Kernel panic: <c>LHCALL_SHUTDOWN</c> with the panic text (the guest dies).</summary>
    [DoesNotReturn]
    public void Panic(string message) => throw new GuestShutdownException(message, reboot: false);

    private sealed record IrqLine(GuestDriverQueue Queue, Action? Callback, string Name);
}

/// <summary>
/// The simulated guest gave up waiting for a device the Launcher isolated
/// (<see cref="GuestContext.IsIsolated"/>); the scenario step that waited ends here.
/// </summary>
public sealed class DeviceIsolatedException : Exception
{
    /// <summary>Creates the exception for the device named <paramref name="device"/>.</summary>
    public DeviceIsolatedException(string device)
        : base($"{device} was isolated by the Launcher") => Device = device;

    /// <summary>The device's name ("console", "net", "block").</summary>
    public string Device { get; }
}
