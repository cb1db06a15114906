using LguestSim.Engine.Channel;

namespace LguestSim.Backends.Simulated;

/// <summary>
/// An in-process <see cref="ILguestChannel"/>: the guest is a program running on its own
/// thread, handed the CPU by <see cref="Run"/> and handing it back at each hypercall,
/// exactly one of the two running at any time — what a vcpu inside <c>read(/dev/lguest)</c> is.
/// </summary>
/// <remarks>
/// <para>
/// Interrupts raised while the guest is stopped are delivered, lowest irq first, when it
/// next runs. A break (from the Waker) is taken only while the guest is halted waiting
/// for something: that keeps the guest's view independent of thread timing, so transcripts
/// are byte-identical run after run. A halted guest also resumes after every break, as a
/// real one would on its next timer tick, and looks again at what it was waiting for.
/// </para>
/// <para>
/// A guest that stays halted with nothing to wake it for <see cref="HaltTimeout"/> dies with
/// a reason saying so, instead of hanging the harness.
/// </para>
/// </remarks>
public sealed class SimulatedChannel : ILguestChannel, IGuestCpu
{
    private readonly object _gate = new();
    private readonly Action<IGuestCpu> _program;
    private readonly SortedSet<uint> _pendingIrqs = new();
    private Thread? _thread;
    private bool _guestTurn;
    private ChannelEvent? _event;
    private bool _halted;
    private bool _breakRequested;
    private bool _disposed;
    private bool _initialized;
    private bool _ended;

    /// <summary>Creates the channel; <paramref name="program"/> is the guest, run on its own thread after <see cref="Initialize"/>.</summary>
    public SimulatedChannel(Action<IGuestCpu> program) => _program = program;

    /// <summary>How long a halted guest waits for a break before it is declared hung.</summary>
    public TimeSpan HaltTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The pfn limit, page directory and entry given at initialisation.</summary>
    public (uint PfnLimit, uint PageDirectory, uint EntryPoint) Boot { get; private set; }

    /// <summary>Irqs the kernel accepts are below this (<c>LGUEST_IRQS</c>).</summary>
    public const uint IrqLimit = 32;

    /// <inheritdoc/>
    public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
    {
        lock (_gate)
        {
            if (_initialized)
            {
                throw new InvalidOperationException("the guest is already initialised (EBUSY)");
            }

            _initialized = true;
            Boot = (pfnLimit, pageDirectory, entryPoint);
        }
    }

    /// <inheritdoc/>
    public ChannelEvent Run()
    {
        lock (_gate)
        {
            if (!_initialized)
            {
                throw new InvalidOperationException("run before initialise (EINVAL)");
            }

            if (_ended)
            {
                throw new InvalidOperationException("the guest is dead (ENOENT)");
            }

            if (_thread is null)
            {
                _thread = new Thread(GuestMain) { IsBackground = true, Name = "simulated guest" };
                _thread.Start();
            }

            _guestTurn = true;
            Monitor.PulseAll(_gate);
            DateTime haltedSince = DateTime.UtcNow;
            while (true)
            {
                if (_event is { } ev)
                {
                    _event = null;
                    _guestTurn = false;
                    if (ev.Kind is ChannelEventKind.Died or ChannelEventKind.Restart)
                    {
                        _ended = true;
                    }

                    return ev;
                }

                if (_halted && _breakRequested)
                {
                    // The guest stays halted; the next Run lets it look again.
                    _guestTurn = false;
                    return ChannelEvent.Broken;
                }

                if (_halted && DateTime.UtcNow - haltedSince > HaltTimeout)
                {
                    _guestTurn = false;
                    _ended = true;
                    _disposed = true;
                    Monitor.PulseAll(_gate);
                    return ChannelEvent.Died($"simulated guest: halted for {HaltTimeout.TotalSeconds:0} s with nothing to wake it");
                }

                if (!_halted)
                {
                    haltedSince = DateTime.UtcNow;
                }

                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(250));
            }
        }
    }

    /// <inheritdoc/>
    public bool Interrupt(uint irq)
    {
        if (irq >= IrqLimit)
        {
            return false;
        }

        lock (_gate)
        {
            _pendingIrqs.Add(irq);
            Monitor.PulseAll(_gate);
        }

        return true;
    }

    /// <inheritdoc/>
    public void Break()
    {
        lock (_gate)
        {
            _breakRequested = true;
            Monitor.PulseAll(_gate);
            while (_breakRequested && !_disposed)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <inheritdoc/>
    public void ReleaseBreak()
    {
        lock (_gate)
        {
            _breakRequested = false;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Ends the guest thread, if it still runs, and releases a blocked <see cref="Break"/>.</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _disposed = true;
            _breakRequested = false;
            thread = _thread;
            Monitor.PulseAll(_gate);
        }

        thread?.Join(TimeSpan.FromSeconds(5));
    }

    // ---- the guest's side (IGuestCpu), called on the guest thread only ----

    /// <inheritdoc/>
    void IGuestCpu.Notify(uint address)
    {
        if (address == 0)
        {
            return; // indistinguishable from "no notify": it never reaches the Launcher
        }

        Yield(ChannelEvent.Notify(address));
    }

    /// <inheritdoc/>
    void IGuestCpu.Halt()
    {
        lock (_gate)
        {
            if (_pendingIrqs.Count > 0)
            {
                return;
            }

            _halted = true;
            _guestTurn = false;
            Monitor.PulseAll(_gate);
            while (!_guestTurn && !_disposed)
            {
                Monitor.Wait(_gate);
            }

            _halted = false;
            ThrowIfDisposed();
        }
    }

    /// <inheritdoc/>
    bool IGuestCpu.TryTakeInterrupt(out uint irq)
    {
        lock (_gate)
        {
            if (_pendingIrqs.Count == 0)
            {
                irq = 0;
                return false;
            }

            irq = _pendingIrqs.Min;
            _pendingIrqs.Remove(irq);
            return true;
        }
    }

    private void Yield(ChannelEvent ev)
    {
        lock (_gate)
        {
            _event = ev;
            _guestTurn = false;
            Monitor.PulseAll(_gate);
            while (!_guestTurn && !_disposed)
            {
                Monitor.Wait(_gate);
            }

            ThrowIfDisposed();
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new GuestStoppedException();
        }
    }

    private void GuestMain()
    {
        lock (_gate)
        {
            while (!_guestTurn && !_disposed)
            {
                Monitor.Wait(_gate);
            }

            if (_disposed)
            {
                return;
            }
        }

        try
        {
            _program(this);

            // A guest program that simply ends has powered off.
            Yield(ChannelEvent.Died("CRASH: Power down"));
        }
        catch (GuestStoppedException)
        {
            // The Launcher is gone; nothing to report to.
        }
        catch (GuestShutdownException e)
        {
            Post(e.Reboot ? ChannelEvent.Restart : ChannelEvent.Died($"CRASH: {e.Message}"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the simulated guest itself: it dies like a panicking kernel would,
            // rather than taking the harness down with an unhandled exception.
            Post(ChannelEvent.Died($"CRASH: simulated guest failed: {e.GetType().Name}: {e.Message}"));
        }
    }

    private void Post(ChannelEvent ev)
    {
        lock (_gate)
        {
            _event = ev;
            Monitor.PulseAll(_gate);
        }
    }
}

/// <summary>The simulated vcpu as the guest program sees it: hypercalls and interrupts.</summary>
public interface IGuestCpu
{
    /// <summary><c>LHCALL_NOTIFY(address)</c>: returns when the Launcher runs the guest again.</summary>
    void Notify(uint address);

    /// <summary>Waits for something to happen: an interrupt, or the next break of the run.</summary>
    void Halt();

    /// <summary>Takes the lowest pending interrupt, if any.</summary>
    bool TryTakeInterrupt(out uint irq);
}

/// <summary>Thrown on the guest thread when the Launcher has stopped the guest.</summary>
public sealed class GuestStoppedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GuestStoppedException()
        : base("the guest was stopped")
    {
    }
}

/// <summary>
/// <c>LHCALL_SHUTDOWN</c>: thrown by guest code to power off (with a message, e.g. a panic)
/// or to reboot; it unwinds the guest program.
/// </summary>
public sealed class GuestShutdownException : Exception
{
    /// <summary>Power off with <paramref name="message"/>, or reboot.</summary>
    public GuestShutdownException(string message, bool reboot)
        : base(message) => Reboot = reboot;

    /// <summary>True for a reboot (RESTART), false for power-off.</summary>
    public bool Reboot { get; }
}
