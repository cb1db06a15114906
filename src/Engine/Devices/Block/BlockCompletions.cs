using LguestSim.Engine.HostIo;

namespace LguestSim.Engine.Devices.Block;

/// <summary>
/// The block worker's "done" signal: how many requests the worker has put on the used ring
/// that the run loop has not yet raised an interrupt for, and the guest fault that ended the
/// worker, if one did. The Waker sleeps on it; the device's input handler drains it.
/// </summary>
/// <remarks>
/// Spec §5.3 "I/O thread protocol": lguest.c's I/O thread wrote one byte to its done pipe per
/// serviced request, and the Launcher raised one interrupt per byte read. A counter does the
/// same without a pipe. Only the change from nothing waiting to something waiting is
/// signalled: the Waker asks <see cref="IsReady"/> again after every break, so the requests
/// completed while one batch is being handled are never lost.
/// </remarks>
internal sealed class BlockCompletions : InputSource
{
    private readonly Queue<string> _warnings = new();
    private int _completed;
    private GuestFaultException? _fault;

    /// <inheritdoc/>
    public override bool IsReady => Volatile.Read(ref _completed) != 0 || Volatile.Read(ref _fault) is not null;

    /// <summary>The fault that ended the worker, or null while it is well.</summary>
    public GuestFaultException? Fault => Volatile.Read(ref _fault);

    /// <summary>Worker: one more request is on the used ring.</summary>
    public void Completed()
    {
        // ORDERING: the interlocked add is a full fence, so the used-ring entry the worker
        // wrote before it is visible to the run loop that takes this count and interrupts.
        if (Interlocked.Increment(ref _completed) == 1)
        {
            SignalReady();
        }
    }

    /// <summary>Worker: the guest broke a rule; the worker has stopped.</summary>
    public void Failed(GuestFaultException fault)
    {
        Volatile.Write(ref _fault, fault);
        SignalReady();
    }

    /// <summary>
    /// Run loop: the fault was reported (isolate mode: the device is isolated; or a harness
    /// reuses the machine after the run it ended) and must not be reported again; the worker is
    /// parked, so nothing sets it again before the reset resumes it.
    /// </summary>
    public void ClearFault() => Volatile.Write(ref _fault, null);

    /// <summary>
    /// Worker: a warning about the request in hand (SCSI unsupported). It is held here and
    /// written by the run loop (<see cref="TakeWarnings"/>), never from the worker's thread, so
    /// where it lands in the transcript does not depend on thread timing.
    /// </summary>
    public void Warn(string message)
    {
        lock (_warnings)
        {
            _warnings.Enqueue(message);
        }
    }

    /// <summary>Run loop: the worker's warnings not yet written, oldest first.</summary>
    public string[] TakeWarnings()
    {
        lock (_warnings)
        {
            string[] all = [.. _warnings];
            _warnings.Clear();
            return all;
        }
    }

    /// <summary>Run loop: takes the count of completions not yet interrupted for.</summary>
    public int TakeCompleted() => Interlocked.Exchange(ref _completed, 0);
}
