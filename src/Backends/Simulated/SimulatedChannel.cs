using System.Diagnostics;
using System.Numerics;
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
/// real one would on its next timer tick, and looks again at what it was waiting for: a
/// break that is already waiting when the run loop runs the guest again is taken only once
/// the guest has had that turn (lguest runs the guest, delivering the interrupts just raised,
/// and the next break bites at its next exit), so a stream of breaks cannot starve it.
/// </para>
/// <para>
/// The hand-off between the guest and the run loop wakes only the side that must act, and
/// each side spins up to 20 µs before it sleeps: a vcpu exit and re-entry cost a
/// microsecond or two, a sleep and wake-up between two threads tens of them.
/// </para>
/// <para>
/// A guest that stays halted with nothing to wake it for <see cref="HaltTimeout"/> dies with
/// a reason saying so, instead of hanging the harness.
/// </para>
/// </remarks>
public sealed class SimulatedChannel : ILguestChannel, IGuestCpu
{
    /// <summary>How long a side spins for the other's answer before it sleeps.</summary>
    private static readonly long s_spinTicks = Stopwatch.Frequency / 50_000; // 20 µs

    private readonly object _gate = new();
    private readonly object _breakGate = new();
    private readonly Action<IGuestCpu> _program;
    private uint _pendingIrqs; // bit n: irq n is pending (irqs are below IrqLimit = 32)
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

    /// <summary>
    /// When the run as a whole must end (UTC; <see cref="DateTime.MaxValue"/>: never): a guest
    /// still running then dies with a reason saying so, however busy it is.
    /// </summary>
    public DateTime Deadline { get; init; } = DateTime.MaxValue;

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
        TryRun(CancellationToken.None, out ChannelEvent ev);
        return ev;
    }

    /// <summary>
    /// <see cref="Run"/>, which the caller may abandon: a signal arriving during a blocked
    /// <c>read(/dev/lguest)</c>. The guest is not harmed; whatever it does meanwhile is
    /// returned by the next run, as lg.ko keeps a pending notify for the next read.
    /// </summary>
    /// <param name="abandon">Cancelled when the caller stops waiting.</param>
    /// <param name="ev">What ended the run, when it returns true.</param>
    /// <returns>False when <paramref name="abandon"/> was cancelled before anything happened.</returns>
    public bool TryRun(CancellationToken abandon, out ChannelEvent ev)
    {
        using CancellationTokenRegistration wake = abandon.CanBeCanceled ? abandon.Register(WakeWaiters) : default;
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

            // An earlier run was abandoned and the guest has stopped since with an event the
            // Launcher has not seen yet: that event is this run's, and the guest keeps waiting
            // for its turn. (Never true when no run is abandoned: each run takes its event.)
            if (_event is { } waiting)
            {
                ev = TakeEvent(waiting);
                return true;
            }

            _guestTurn = true;
            Monitor.PulseAll(_gate);
            DateTime haltedSince = DateTime.UtcNow;
            while (true)
            {
                // The wall-clock guard: whatever the guest is doing, this run is over. The
                // guest thread stops at its next hypercall (it finds the channel disposed).
                if (DateTime.UtcNow > Deadline)
                {
                    _guestTurn = false;
                    _ended = true;
                    _disposed = true;
                    Monitor.PulseAll(_gate);
                    ev = ChannelEvent.Died("simulated run: over its wall-clock limit");
                    return true;
                }

                if (_event is { } posted)
                {
                    ev = TakeEvent(posted);
                    return true;
                }

                // A halted guest whose turn it is has not woken up yet: let it run first.
                if (_halted && !_guestTurn && _breakRequested)
                {
                    // The guest stays halted; the next Run lets it look again.
                    _guestTurn = false;
                    ev = ChannelEvent.Broken;
                    return true;
                }

                if (_halted && !_guestTurn && DateTime.UtcNow - haltedSince > HaltTimeout)
                {
                    _guestTurn = false;
                    _ended = true;
                    _disposed = true;
                    Monitor.PulseAll(_gate);
                    ev = ChannelEvent.Died($"simulated guest: halted for {HaltTimeout.TotalSeconds:0} s with nothing to wake it");
                    return true;
                }

                // Abandoned: the guest keeps its turn (or stays halted) and the next run
                // picks up from there.
                if (abandon.IsCancellationRequested)
                {
                    ev = default;
                    return false;
                }

                if (!_halted || _guestTurn)
                {
                    haltedSince = DateTime.UtcNow;
                }

                if (SpinOutsideLock(static c => c._event is not null || (c._halted && !c._guestTurn && c._breakRequested)))
                {
                    continue;
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
            // No pulse: nothing waits for an irq. A halted guest takes its pending irqs when
            // the run loop next runs it.
            _pendingIrqs |= 1u << (int)irq;
        }

        return true;
    }

    /// <inheritdoc/>
    public void Break() => TryBreak(CancellationToken.None);

    /// <summary>
    /// <see cref="Break"/>, which the caller may abandon (a signal to the blocked breaker).
    /// As in lg.ko, an abandoned break leaves the break flag set: only a release clears it.
    /// </summary>
    /// <param name="abandon">Cancelled when the caller stops waiting.</param>
    /// <returns>False when <paramref name="abandon"/> was cancelled before the break was released.</returns>
    public bool TryBreak(CancellationToken abandon)
    {
        using CancellationTokenRegistration wake = abandon.CanBeCanceled ? abandon.Register(WakeWaiters) : default;
        lock (_gate)
        {
            _breakRequested = true;
            Monitor.PulseAll(_gate);
        }

        // The Waker waits for the release on a monitor of its own: on _gate every hand-off
        // between the guest and the run loop would wake it for nothing.
        // ORDERING: ReleaseBreak clears the flag under _gate and then pulses under _breakGate,
        // so a check under _breakGate either sees it cleared or is waiting for that pulse.
        lock (_breakGate)
        {
            while (Volatile.Read(ref _breakRequested) && !Volatile.Read(ref _disposed))
            {
                if (abandon.IsCancellationRequested)
                {
                    return false;
                }

                Monitor.Wait(_breakGate);
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public void ReleaseBreak()
    {
        lock (_gate)
        {
            _breakRequested = false;
        }

        lock (_breakGate)
        {
            Monitor.PulseAll(_breakGate);
        }
    }

    /// <summary>Wakes a run or a break waiting in this channel, to look at its abandon token.</summary>
    private void WakeWaiters()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }

        lock (_breakGate)
        {
            Monitor.PulseAll(_breakGate);
        }
    }

    /// <summary>Called with the lock held: hands <paramref name="ev"/> to the run loop.</summary>
    private ChannelEvent TakeEvent(ChannelEvent ev)
    {
        _event = null;
        _guestTurn = false;
        if (ev.Kind is ChannelEventKind.Died or ChannelEventKind.Restart)
        {
            _ended = true;
        }

        return ev;
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

        lock (_breakGate)
        {
            Monitor.PulseAll(_breakGate);
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
            if (_pendingIrqs != 0)
            {
                return;
            }

            _halted = true;
            _guestTurn = false;

            // The run loop needs waking only to take a break that is already waiting; else it
            // sleeps on, as the Launcher stays in read() while the guest halts, until Break
            // wakes it or its periodic look for a hung guest comes round.
            if (_breakRequested)
            {
                Monitor.PulseAll(_gate);
            }

            SpinOutsideLock(static c => c._guestTurn || c._disposed);
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
            if (_pendingIrqs == 0)
            {
                irq = 0;
                return false;
            }

            irq = (uint)BitOperations.TrailingZeroCount(_pendingIrqs);
            _pendingIrqs &= ~(1u << (int)irq);
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
            SpinOutsideLock(static c => c._guestTurn || c._disposed);
            while (!_guestTurn && !_disposed)
            {
                Monitor.Wait(_gate);
            }

            ThrowIfDisposed();
        }
    }

    /// <summary>
    /// Called with the lock held: lets go of it and spins, yielding, for up to
    /// <see cref="s_spinTicks"/> until <paramref name="done"/> holds, then takes it again.
    /// </summary>
    /// <returns>Whether <paramref name="done"/> holds, checked under the lock.</returns>
    private bool SpinOutsideLock(Func<SimulatedChannel, bool> done)
    {
        if (done(this))
        {
            return true;
        }

        Monitor.Exit(_gate);
        try
        {
            long start = Stopwatch.GetTimestamp();
            var spinner = default(SpinWait);

            // ORDERING: a racy read is only a hint to stop spinning; the lock re-taken below
            // orders everything the other side wrote before the caller relies on it.
            while (!done(this) && Stopwatch.GetTimestamp() - start < s_spinTicks)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Monitor.Enter(_gate);
        }

        return done(this);
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
