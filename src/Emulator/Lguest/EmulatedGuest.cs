using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using LguestSim.Backends.Simulated;
using LguestSim.Emulator.Fuse;
using LguestSim.Engine.Channel;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// One open of the emulated <c>/dev/lguest</c>: the guest it creates and runs, with lg.ko's
/// checks in lg.ko's order (spec §2.2, §2.3). The vcpu is a <see cref="SimulatedChannel"/>.
/// </summary>
/// <remarks>
/// A run that blocks and a held <c>LHREQ_BREAK 1</c> are answered from a thread of their own,
/// so the FUSE reader goes on serving (the Waker's break must reach the model while the
/// Launcher's run is blocked in it). A <c>FUSE_INTERRUPT</c> for either answers it EINTR and
/// leaves the guest as it was.
/// </remarks>
internal sealed class EmulatedGuest : IDisposable
{
    private const uint Initialize = 0; // LHREQ_INITIALIZE
    private const uint GetDma = 1; // LHREQ_GETDMA (obsolete)
    private const uint Irq = 2; // LHREQ_IRQ
    private const uint BreakRequest = 3; // LHREQ_BREAK

    private readonly object _lock = new();
    private readonly ulong _fh;
    private readonly IGuestFactory _factory;
    private readonly TimeSpan _haltTimeout;
    private readonly Action<string>? _log;
    private readonly LgdevStats? _stats;
    private readonly CancellationTokenSource _destroyed = new();
    private SimulatedChannel? _vcpu;
    private int _owner;
    private bool _running;
    private byte[]? _deathReason; // with its NUL
    private bool _restarted;
    private long _bornAt; // Stopwatch timestamps, for _stats
    private long _lastRunEnd;

    internal EmulatedGuest(ulong fh, IGuestFactory factory, TimeSpan haltTimeout, Action<string>? log, LgdevStats? stats)
    {
        _stats = stats;
        _fh = fh;
        _factory = factory;
        _haltTimeout = haltTimeout;
        _log = log;
    }

    private bool Dead => _deathReason is not null || _restarted;

    /// <summary>A write: one request word and its arguments (spec §2.2).</summary>
    internal void Write(FuseCall call, ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            // lg.ko would read the word past the caller's buffer; here there is none to read.
            call.ReplyError(Errno.EFAULT);
            return;
        }

        uint request = Word(data, 0);
        SimulatedChannel vcpu;
        lock (_lock)
        {
            if (request == Initialize)
            {
                DoInitialize(call, data);
                return;
            }

            if (_vcpu is null || offset != 0)
            {
                call.ReplyError(Errno.EINVAL);
                return;
            }

            if (Dead)
            {
                call.ReplyError(Errno.ENOENT);
                return;
            }

            if (call.CallerThreadId != _owner && request != BreakRequest)
            {
                call.ReplyError(Errno.EPERM);
                return;
            }

            vcpu = _vcpu;
        }

        switch (request)
        {
            case Irq when data.Length < 8:
            case BreakRequest when data.Length < 8:
                call.ReplyError(Errno.EFAULT);
                break;
            case Irq:
                {
                    uint irq = Word(data, 1);
                    if (!vcpu.Interrupt(irq))
                    {
                        call.ReplyError(Errno.EINVAL);
                        break;
                    }

                    _stats?.Irq();
                    _log?.Invoke($"fh={_fh} irq {irq}");
                    call.ReplyWritten(0);
                    break;
                }

            case BreakRequest when Word(data, 1) == 0:
                vcpu.ReleaseBreak();
                _stats?.BreakReleased();
                _log?.Invoke($"fh={_fh} break 0");
                call.ReplyWritten(0);
                break;
            case BreakRequest:
                _stats?.BreakRequested();
                _log?.Invoke($"fh={_fh} break 1 from thread {call.CallerThreadId}");
                StartThread("lguest break", () => HoldBreak(call, vcpu));
                break;
            case GetDma:
            default:
                call.ReplyError(Errno.EINVAL);
                break;
        }
    }

    /// <summary>A read: run the guest (spec §2.3).</summary>
    internal void Read(FuseCall call, ulong offset, uint size)
    {
        SimulatedChannel vcpu;
        lock (_lock)
        {
            if (_vcpu is null || offset != 0)
            {
                call.ReplyError(Errno.EINVAL);
                return;
            }

            if (call.CallerThreadId != _owner)
            {
                call.ReplyError(Errno.EPERM);
                return;
            }

            if (_restarted)
            {
                call.ReplyError(Errno.ERESTART);
                return;
            }

            if (_deathReason is { } reason)
            {
                call.ReplyData(reason.AsSpan(0, (int)Math.Min(size, (uint)reason.Length)));
                return;
            }

            if (_running)
            {
                // Only the owner thread runs the guest, and it is inside the other run; a second
                // one at once (asynchronous I/O) is refused rather than racing the first.
                call.ReplyError(Errno.EBUSY);
                return;
            }

            _running = true;
            vcpu = _vcpu;
            if (_stats is not null && _lastRunEnd != 0)
            {
                _stats.BetweenRuns(Stopwatch.GetTimestamp() - _lastRunEnd);
            }
        }

        StartThread("lguest run", () => Run(call, vcpu, size));
    }

    /// <summary>Destroys the guest (the last close): its thread ends, held breaks and runs are let go.</summary>
    public void Dispose()
    {
        SimulatedChannel? vcpu;
        lock (_lock)
        {
            vcpu = _vcpu;
            if (_stats is not null && _bornAt != 0 && !Dead)
            {
                _stats.GuestEnded(_bornAt);
                _bornAt = 0;
            }
        }

        _destroyed.Cancel();
        vcpu?.Dispose();
    }

    private static uint Word(ReadOnlySpan<byte> data, int index) => BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(index * 4, 4));

    private static void StartThread(string name, Action body) => new Thread(() => body()) { IsBackground = true, Name = name }.Start();

    /// <summary>Called with the lock held.</summary>
    private void DoInitialize(FuseCall call, ReadOnlySpan<byte> data)
    {
        if (_vcpu is not null)
        {
            call.ReplyError(Errno.EBUSY);
            return;
        }

        if (data.Length < 20)
        {
            call.ReplyError(Errno.EFAULT);
            return;
        }

        var boot = new LguestBoot(call.CallerThreadId, Word(data, 1), Word(data, 2), Word(data, 3), Word(data, 4));
        Action<IGuestCpu> program;
        try
        {
            program = _factory.Create(boot);
        }
        catch (IOException e)
        {
            _log?.Invoke($"fh={_fh} initialize failed: {e.Message}");
            call.ReplyError(Errno.EFAULT);
            return;
        }

        if (_stats is { } stats)
        {
            Action<IGuestCpu> untimed = program;
            program = cpu => untimed(new TimedGuestCpu(cpu, stats));
        }

        var vcpu = new SimulatedChannel(program) { HaltTimeout = _haltTimeout };
        vcpu.Initialize(boot.PfnLimit, boot.PageDirectory, boot.EntryPoint);
        _vcpu = vcpu;
        _owner = boot.OwnerThreadId;
        _bornAt = Stopwatch.GetTimestamp();
        _log?.Invoke($"fh={_fh} initialize base=0x{boot.Base:x} pfnlimit=0x{boot.PfnLimit:x} pgdir=0x{boot.PageDirectory:x} start=0x{boot.EntryPoint:x} owner thread {boot.OwnerThreadId}");
        call.ReplyWritten(16);
    }

    private void Run(FuseCall call, SimulatedChannel vcpu, uint size)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(call.Interrupted, _destroyed.Token);
        long start = Stopwatch.GetTimestamp();
        bool ran = vcpu.TryRun(abandon.Token, out ChannelEvent ev);
        lock (_lock)
        {
            _running = false;
            if (_stats is not null)
            {
                _lastRunEnd = _stats.RunEnded(start, !ran ? LgdevStats.RunEnd.Other : ev.Kind switch
                {
                    ChannelEventKind.Notify => LgdevStats.RunEnd.Notify,
                    ChannelEventKind.Break => LgdevStats.RunEnd.Break,
                    _ => LgdevStats.RunEnd.Other,
                });
                if (ran && ev.Kind is ChannelEventKind.Died or ChannelEventKind.Restart && _bornAt != 0)
                {
                    _stats.GuestEnded(_bornAt);
                    _bornAt = 0;
                }
            }

            if (ran && ev.Kind == ChannelEventKind.Died)
            {
                _deathReason = Encoding.UTF8.GetBytes((ev.Reason ?? string.Empty) + "\0");
            }
            else if (ran && ev.Kind == ChannelEventKind.Restart)
            {
                _restarted = true;
            }
        }

        if (!ran)
        {
            _log?.Invoke($"fh={_fh} run interrupted");
            call.ReplyError(Errno.EINTR);
            return;
        }

        switch (ev.Kind)
        {
            case ChannelEventKind.Notify:
                {
                    _log?.Invoke($"fh={_fh} run: notify 0x{ev.Address:x}");

                    // lg.ko copies 4 bytes whatever the read size; a FUSE reply cannot be longer than the read.
                    Span<byte> word = stackalloc byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(word, ev.Address);
                    call.ReplyData(word[..(int)Math.Min(size, 4u)]);
                    break;
                }

            case ChannelEventKind.Break:
                _log?.Invoke($"fh={_fh} run: break (EAGAIN)");
                call.ReplyError(Errno.EAGAIN);
                break;
            case ChannelEventKind.Died:
                _log?.Invoke($"fh={_fh} run: died (ENOENT): {ev.Reason}");
                call.ReplyError(Errno.ENOENT);
                break;
            default:
                _log?.Invoke($"fh={_fh} run: reboot (ERESTART)");
                call.ReplyError(Errno.ERESTART);
                break;
        }
    }

    private void HoldBreak(FuseCall call, SimulatedChannel vcpu)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(call.Interrupted, _destroyed.Token);
        if (vcpu.TryBreak(abandon.Token))
        {
            call.ReplyWritten(0);
        }
        else
        {
            _log?.Invoke($"fh={_fh} break 1 interrupted");
            call.ReplyError(Errno.EINTR);
        }
    }
}
