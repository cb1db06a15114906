using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices.Block;

/// <summary>
/// The block device's I/O thread (spec §5.3): it takes the chains the guest kicked, serves
/// them one at a time in ring order, puts each on the used ring and counts it in
/// <see cref="BlockCompletions"/>. Interrupts are raised by the run loop, never here.
/// </summary>
/// <remarks>
/// <para>
/// <b>Who touches the queue when.</b> lguest.c's thread and Launcher shared the vring and
/// <c>last_avail_idx</c> with no locking at all, and a device reset raced with the thread
/// (a spec §5.3 quirk). Here the block queue has one owner at a time:
/// </para>
/// <list type="bullet">
/// <item>The worker alone pops (through one <see cref="VirtqueueRing"/> per pass: it reads the avail ring and the
/// descriptors, and moves <c>last_avail_idx</c>), reads and writes the request buffers and
/// adds used entries. The run loop never pops from this queue.</item>
/// <item>The run loop only reads guest-written fields: <c>avail.idx</c> at a kick, as the
/// point where the worker stops (<see cref="Kick"/>), and <c>avail.flags</c> when it decides
/// whether to interrupt.</item>
/// <item>A reset zeroes the ring and <c>last_avail_idx</c> on the run loop, between
/// <see cref="Quiesce"/>, which returns only once the worker has finished the request in hand
/// and parked, and <see cref="Resume"/>. The lock taken by both orders every queue access of
/// the worker before the reset and after it.</item>
/// <item>A worker that stopped on a fault touches nothing: it is parked until
/// <see cref="Resume"/> clears the failure (only after the run loop has taken the fault, in
/// isolate mode) or <see cref="Dispose"/> ends it.</item>
/// <item>An isolated device (isolate mode) is quiesced by the run loop
/// (<see cref="BlockDevice.OnIsolated"/>) and gets no kicks (the Launcher ignores its
/// notifies), so its worker stays parked until the reset's <see cref="Resume"/>.</item>
/// </list>
/// <para>
/// <b>Where the worker stops.</b> It serves chains up to the <c>avail.idx</c> the run loop
/// read when the guest kicked, not whatever the guest has published since. A virtio driver
/// always kicks after publishing, so a guest sees no difference; what changes is that which
/// chains a kick serves no longer depends on thread timing (lguest.c's thread would also pick
/// up chains published a moment later), so the worker's messages come after the notify that
/// caused them in every run.
/// </para>
/// <para>
/// <b>Faults.</b> A guest fault in the worker (a bad chain or request) stops the worker, as
/// it ended lguest.c's thread: it serves nothing more and parks. The fault is handed to the
/// run loop through <see cref="BlockCompletions.Failed"/>; the device's input handler (or
/// <see cref="BlockDevice.Settle"/>) reports it there. In exit mode the run ends exactly as for
/// a fault on the run loop: on every way out of a run (death, reboot, an exit a device asked
/// for, a host error) the Launcher first settles the worker (<see cref="Settle"/>), so a fault
/// in a request the guest never waited for still ends the run as that fault. In isolate mode
/// the run loop isolates the device, which takes the fault
/// (<see cref="BlockCompletions.ClearFault"/>); the guest's reset of the device then resumes the
/// worker on the new ring. A guest fault never leaves the worker's thread as an exception: it is
/// handed over as above, as a value: the pop and the request code return faults rather
/// than throw them. (The store reports host failures as results, not exceptions.)
/// </para>
/// </remarks>
internal sealed class BlockWorker : IDisposable
{
    private readonly BlockDevice _device;
    private readonly Virtqueue _queue;
    private readonly BlockCompletions _done;
    private readonly IDeviceContext _context;
    private readonly object _gate = new();
    private readonly Thread? _thread;
    private readonly Action? _starting;

    // All guarded by _gate, except _stopAt and _quiesce, which the worker also reads between
    // requests without it (a stale read only delays it by one request).
    private ushort _stopAt;
    private bool _kicked;
    private bool _quiesce;
    private bool _busy;
    private bool _stopping;
    private bool _failed;

    /// <summary>Starts the worker for <paramref name="device"/>'s queue; <paramref name="starting"/> runs first on its thread.</summary>
    /// <param name="device">The device whose queue the worker serves.</param>
    /// <param name="done">Where completions and the fault go.</param>
    /// <param name="context">The Launcher.</param>
    /// <param name="starting">Run first thing on the worker's thread.</param>
    /// <param name="onCaller">
    /// No thread at all: the worker's passes run on the caller's thread, when it calls
    /// <see cref="Settle"/>. The fuzzer's hook only
    /// (<see cref="BlockDevice.ServeOnCallerThread"/>): a thread hand-off per request costs
    /// more than the whole rest of a fuzz execution. Same pop and serve code, same
    /// bookkeeping; only who runs it differs.
    /// </param>
    public BlockWorker(BlockDevice device, BlockCompletions done, IDeviceContext context, Action? starting, bool onCaller = false)
    {
        _starting = starting;
        _device = device;
        _queue = device.Queue;
        _done = done;
        _context = context;
        if (!onCaller)
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = $"lguest {device.Name} worker" };
            _thread.Start();
        }
    }

    /// <summary>Run loop: the guest kicked with <c>avail.idx</c> = <paramref name="availIndex"/>.</summary>
    /// <remarks>lguest.c's one-byte write to the work pipe.</remarks>
    public void Kick(ushort availIndex)
    {
        lock (_gate)
        {
            Volatile.Write(ref _stopAt, availIndex);
            _kicked = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Run loop: stops the worker taking further chains and returns once it has finished the
    /// request in hand (used entry added) and is parked.
    /// </summary>
    public void Quiesce()
    {
        lock (_gate)
        {
            Volatile.Write(ref _quiesce, true);
            while (_busy)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>
    /// Run loop, after the ring was reset: the worker waits for the next kick, which can only
    /// name chains of the new ring (its <c>last_avail_idx</c> is 0 again).
    /// </summary>
    /// <param name="clearFailure">
    /// Serve again after a fault, which the run loop has taken (isolate mode). False keeps a
    /// worker that stopped on a fault stopped: the fault still ends the run (exit mode).
    /// </param>
    public void Resume(bool clearFailure)
    {
        lock (_gate)
        {
            _stopAt = 0;
            _kicked = false;
            if (clearFailure)
            {
                _failed = false;
            }

            // No pulse: with _kicked clear, a parked worker has nothing to do until the next
            // kick, which wakes it.
            Volatile.Write(ref _quiesce, false);
        }
    }

    /// <summary>
    /// Run loop: returns once the worker has served every chain kicked so far, or has stopped
    /// on a fault (or is parked for a reset).
    /// </summary>
    /// <remarks>
    /// Bounded: a pass serves at most the chains up to the last kick's <c>avail.idx</c>, and a
    /// jump of more than the ring's size is a fault.
    /// </remarks>
    public void Settle()
    {
        if (_thread is null)
        {
            RunPass();
        }
        else
        {
            lock (_gate)
            {
                while (!_failed && !_stopping && !_quiesce && (_kicked || _busy))
                {
                    Monitor.Wait(_gate);
                }
            }
        }
    }

    /// <summary>
    /// Without a thread (<c>onCaller</c>): one pass of the worker, now, on the caller's thread —
    /// what the thread would do when it next gets the CPU: serve every chain kicked so far,
    /// unless it has stopped on a fault. (Parked for a reset, or disposed, it finds nothing to
    /// serve: <see cref="ServeKicked"/> stops at once while quiesced; and a pass with nothing
    /// kicked since the last stops where it starts.)
    /// </summary>
    private void RunPass()
    {
        // Caller's thread only: Fail sets _failed on this same thread.
        if (_failed)
        {
            return;
        }

        if (ServeKicked() is { } fault)
        {
            Fail(fault);
        }
    }

    /// <summary>Stops the thread after the request in hand and waits for it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Volatile.Write(ref _quiesce, true);
            Monitor.PulseAll(_gate);
        }

        _thread?.Join();
    }

    private void Loop()
    {
        _starting?.Invoke();
        while (true)
        {
            lock (_gate)
            {
                // Parked while quiesced or stopped on a fault, until a reset resumes it.
                while (!_stopping && (!_kicked || _quiesce || _failed))
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                _kicked = false;
                _busy = true;
            }

            // A pass that ends on a fault leaves the worker parked (above) until a reset
            // resumes it after the run loop took the fault.
            ServePass();
        }
    }

    /// <summary>One pass, entered with <c>_busy</c> set: serve what was kicked, then say so.</summary>
    private void ServePass()
    {
        if (ServeKicked() is { } fault)
        {
            // Like lguest.c's thread after errx(): this worker serves nothing more, and parks
            // until a reset resumes it after the run loop took the fault. The run loop reports
            // the fault when it next services input, or settles the device.
            Fail(fault);
            return;
        }

        lock (_gate)
        {
            _busy = false;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Worker: stop serving, park, and hand the run loop the fault.</summary>
    private void Fail(GuestFaultException fault)
    {
        _done.Failed(fault);

        lock (_gate)
        {
            _busy = false;
            _failed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Serves chains until <c>last_avail_idx</c> reaches the latest kick's <c>avail.idx</c>.</summary>
    /// <returns>Null, or the rule a chain or request broke (nothing after it was served).</returns>
    private GuestFaultException? ServeKicked()
    {
        // A kick that arrives meanwhile moves _stopAt, and is served in this same pass.
        // ORDERING: both reads are hints taken without the lock: a stale _stopAt only leaves
        // a chain for the next pass (the kick also set _kicked), a stale _quiesce only serves
        // one more request before Quiesce sees _busy fall; TryPop orders its own ring reads.
        VirtqueueRing ring = _queue.OpenRing();
        while (!Volatile.Read(ref _quiesce) && _queue.LastAvailIndex != Volatile.Read(ref _stopAt))
        {
            if (!ring.TryPop(out DescriptorChain chain, out GuestFaultException? fault))
            {
                return fault;
            }

            if (_device.Service(chain, _context, out uint used) is { } badRequest)
            {
                return badRequest;
            }

            ring.AddUsed(chain.Head, used);
            _done.Completed();
        }

        return null;
    }
}
