using System.Diagnostics;
using System.Globalization;

namespace LguestSim.Emulator;

/// <summary>
/// Where the time goes behind the emulated <c>/dev/lguest</c> (<c>lgdev --stats</c>): counts of
/// the requests the device served and of the guest's copies into and out of the Launcher's
/// memory, with the time spent in each, summed over every open.
/// </summary>
/// <remarks>
/// <para>
/// Cheap enough to leave on: each event is two <see cref="Stopwatch.GetTimestamp"/> calls and
/// an <see cref="Interlocked"/> add or two, with no allocation.
/// </para>
/// <para>
/// The Launcher is blocked in its read while the guest runs, until the guest notifies, is
/// broken out (an interrupt is on its way), or dies; a run also holds the guest's halts,
/// while the Launcher's I/O goes on elsewhere. The time between a run's reply and the next
/// run's arrival is the Launcher's: its handling of the notify (or the interrupt) plus the
/// FUSE round trips back into this server. The guest's own side is timed on its thread: its
/// halts, its notifies (from the notify to its next run), and the rest of its life, which is
/// the guest program's work, the copies into and out of the Launcher's memory included.
/// </para>
/// </remarks>
public sealed class LgdevStats
{
    private long _runs;
    private long _runTicks;
    private long _notifies;
    private long _breakReturns;
    private long _deaths;
    private long _betweenRunsTicks;
    private long _breakRequests;
    private long _breakReleases;
    private long _irqs;
    private long _vmReads;
    private long _vmReadBytes;
    private long _vmReadTicks;
    private long _vmWrites;
    private long _vmWriteBytes;
    private long _vmWriteTicks;
    private long _guests;
    private long _halts;
    private long _haltTicks;
    private long _guestNotifies;
    private long _guestNotifyTicks;
    private long _guestLifeTicks;

    /// <summary>How a run ended, for <see cref="RunEnded"/>.</summary>
    public enum RunEnd
    {
        /// <summary>The guest notified (LHCALL_NOTIFY).</summary>
        Notify,

        /// <summary>The run was broken out (EAGAIN).</summary>
        Break,

        /// <summary>Anything else: the guest died or rebooted, or the run was interrupted.</summary>
        Other,
    }

    /// <summary>Runs served (FUSE READs of the device that ran the guest).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Process_vm_readv copies of guest memory.</summary>
    public long VmReads => Interlocked.Read(ref _vmReads);

    /// <summary>Bytes copied by <see cref="VmReads"/>.</summary>
    public long VmReadBytes => Interlocked.Read(ref _vmReadBytes);

    /// <summary>Process_vm_writev copies into guest memory.</summary>
    public long VmWrites => Interlocked.Read(ref _vmWrites);

    /// <summary>Bytes copied by <see cref="VmWrites"/>.</summary>
    public long VmWriteBytes => Interlocked.Read(ref _vmWriteBytes);

    /// <summary>A run ended after <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp); returns now.</summary>
    public long RunEnded(long startTimestamp, RunEnd how)
    {
        long now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _runTicks, now - startTimestamp);
        switch (how)
        {
            case RunEnd.Notify:
                Interlocked.Increment(ref _notifies);
                break;
            case RunEnd.Break:
                Interlocked.Increment(ref _breakReturns);
                break;
            default:
                Interlocked.Increment(ref _deaths);
                break;
        }

        return now;
    }

    /// <summary>A run arrived <paramref name="ticks"/> after the previous one of the same guest was answered.</summary>
    public void BetweenRuns(long ticks) => Interlocked.Add(ref _betweenRunsTicks, ticks);

    /// <summary>An <c>LHREQ_BREAK 1</c> arrived.</summary>
    public void BreakRequested() => Interlocked.Increment(ref _breakRequests);

    /// <summary>An <c>LHREQ_BREAK 0</c> arrived.</summary>
    public void BreakReleased() => Interlocked.Increment(ref _breakReleases);

    /// <summary>An <c>LHREQ_IRQ</c> was delivered.</summary>
    public void Irq() => Interlocked.Increment(ref _irqs);

    /// <summary>A guest lived from <paramref name="startTimestamp"/> (its <c>LHREQ_INITIALIZE</c>) until now (its death or release).</summary>
    public void GuestEnded(long startTimestamp)
    {
        Interlocked.Increment(ref _guests);
        Interlocked.Add(ref _guestLifeTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    /// <summary>The guest halted at <paramref name="startTimestamp"/> (waiting for an interrupt) and just went on.</summary>
    public void GuestHalted(long startTimestamp)
    {
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _halts);
        Interlocked.Add(ref _haltTicks, ticks);
    }

    /// <summary>The guest notified at <paramref name="startTimestamp"/> and was just run again.</summary>
    public void GuestNotified(long startTimestamp)
    {
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _guestNotifies);
        Interlocked.Add(ref _guestNotifyTicks, ticks);
    }

    /// <summary>A copy out of the Launcher's memory of <paramref name="bytes"/> bytes began at <paramref name="startTimestamp"/> and just ended.</summary>
    public void VmRead(long startTimestamp, int bytes)
    {
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _vmReads);
        Interlocked.Add(ref _vmReadBytes, bytes);
        Interlocked.Add(ref _vmReadTicks, ticks);
    }

    /// <summary>A copy into the Launcher's memory of <paramref name="bytes"/> bytes began at <paramref name="startTimestamp"/> and just ended.</summary>
    public void VmWrite(long startTimestamp, int bytes)
    {
        long ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _vmWrites);
        Interlocked.Add(ref _vmWriteBytes, bytes);
        Interlocked.Add(ref _vmWriteTicks, ticks);
    }

    /// <summary>The summary, one <c>stats: </c> line per figure (times in milliseconds).</summary>
    public IEnumerable<string> Lines()
    {
        static string Ms(long ticks) => (ticks * 1000.0 / Stopwatch.Frequency).ToString("F1", CultureInfo.InvariantCulture);
        static string Us(long ticks, long count) => count == 0 ? "-" : (ticks * 1e6 / Stopwatch.Frequency / count).ToString("F1", CultureInfo.InvariantCulture);
        long runs = Runs;
        long runTicks = Interlocked.Read(ref _runTicks);
        long between = Interlocked.Read(ref _betweenRunsTicks);
        long copyTicks = Interlocked.Read(ref _vmReadTicks) + Interlocked.Read(ref _vmWriteTicks);
        yield return $"stats: guests {Interlocked.Read(ref _guests)}, alive {Ms(Interlocked.Read(ref _guestLifeTicks))} ms (initialize to death or release)";
        yield return $"stats: runs {runs} ({Interlocked.Read(ref _notifies)} notify, {Interlocked.Read(ref _breakReturns)} break, {Interlocked.Read(ref _deaths)} other), "
            + $"in runs {Ms(runTicks)} ms ({Us(runTicks, runs)} us each): the guest program and its halts";
        yield return $"stats: between runs {Ms(between)} ms ({Us(between, Math.Max(0, runs - Interlocked.Read(ref _guests)))} us each): the Launcher's handling plus the FUSE round trip";
        yield return $"stats: break 1 {Interlocked.Read(ref _breakRequests)}, break 0 {Interlocked.Read(ref _breakReleases)}, irq {Interlocked.Read(ref _irqs)}";
        yield return $"stats: process_vm_readv {VmReads} calls, {VmReadBytes} bytes, {Ms(Interlocked.Read(ref _vmReadTicks))} ms ({Us(Interlocked.Read(ref _vmReadTicks), VmReads)} us each)";
        yield return $"stats: process_vm_writev {VmWrites} calls, {VmWriteBytes} bytes, {Ms(Interlocked.Read(ref _vmWriteTicks))} ms ({Us(Interlocked.Read(ref _vmWriteTicks), VmWrites)} us each)";
        long life = Interlocked.Read(ref _guestLifeTicks);
        long halted = Interlocked.Read(ref _haltTicks);
        long notified = Interlocked.Read(ref _guestNotifyTicks);
        long own = Math.Max(0, life - halted - notified);
        yield return $"stats: guest halted {Interlocked.Read(ref _halts)} times, {Ms(halted)} ms (waiting for an interrupt: the Launcher's I/O and the interrupt's way back)";
        yield return $"stats: guest in notify {Interlocked.Read(ref _guestNotifies)} times, {Ms(notified)} ms (until the Launcher ran it again)";
        yield return $"stats: guest program {Ms(own)} ms (alive, not halted, not in notify), of which copies {Ms(copyTicks)} ms, the rest {Ms(Math.Max(0, own - copyTicks))} ms";
    }
}
