using System.Text;
using LguestSim.Backends.Kernel.Interop;
using LguestSim.Engine;
using LguestSim.Engine.Channel;

namespace LguestSim.Backends.Kernel;

/// <summary>
/// The channel over the real <c>/dev/lguest</c> ABI (spec §2): one <c>pwrite</c> per request,
/// one <c>pread</c> per run, always at offset 0 (the offset is the vcpu index, and the
/// Launcher only has cpu 0), never plain <c>read</c>/<c>write</c>.
/// </summary>
/// <remarks>
/// <para>
/// Threads. lg.ko remembers the <em>task</em> that wrote <c>LHREQ_INITIALIZE</c> and answers
/// EPERM to a run or an <c>LHREQ_IRQ</c> from any other; only <c>LHREQ_BREAK</c> may come from
/// elsewhere (the original's Waker was another process). The Launcher keeps to this by
/// construction: <c>Machine.Run</c> (Engine.Machine, the one machine assembly) calls
/// <see cref="Initialize"/> and then <c>Launcher.Run</c> on the thread that called it; <c>Launcher.Run</c> calls <see cref="Run"/> and, from
/// its handlers, every <see cref="Interrupt"/> on that thread (the block worker does not raise
/// interrupts itself: its completions wake the Waker, and the run loop raises them in
/// <c>handle_input</c>). The Waker's thread only calls <see cref="Break"/>. The owning thread is
/// recorded here and a call from another one is refused before it reaches the kernel, as the
/// programming error it would be.
/// </para>
/// <para>
/// A file that is not lguest (say <c>/dev/null</c>) takes the 20-byte write whole and reads
/// as empty; the kernel's INITIALIZE returns 16 and a run returns 4 or fails, so anything else
/// is reported as "not an lguest device".
/// </para>
/// </remarks>
public sealed class KernelChannel : ILguestChannel
{
    /// <summary>The death reason is read into a zeroed buffer of this size, at most one byte less (spec §6.1).</summary>
    private const int ReasonBufferSize = 1024;

    private const long Vcpu = 0;

    private readonly LguestDeviceHandle _fd;
    private readonly string _path;
    private readonly uint _guestBase;
    private int _owner;
    private volatile bool _breakMayBeHeld;

    private KernelChannel(LguestDeviceHandle fd, string path, uint guestBase)
    {
        _fd = fd;
        _path = path;
        _guestBase = guestBase;
    }

    /// <summary>
    /// Opens <paramref name="devicePath"/> read/write (close-on-exec) for a guest whose physical
    /// address 0 is at host address <paramref name="guestBase"/>.
    /// </summary>
    /// <exception cref="LguestHostException">The file cannot be opened, or the base does not fit the ABI's 32-bit word.</exception>
    public static KernelChannel Open(string devicePath, ulong guestBase)
    {
        if (guestBase > uint.MaxValue)
        {
            throw new LguestHostException($"guest memory at 0x{guestBase:x} is not below 4 GiB, so LHREQ_INITIALIZE cannot name it", 0);
        }

        int rc = Sys.OpenReadWrite(devicePath, out LguestDeviceHandle fd);
        if (rc < 0)
        {
            throw new LguestHostException($"cannot open {devicePath}", -rc);
        }

        return new KernelChannel(fd, devicePath, (uint)guestBase);
    }

    /// <inheritdoc/>
    /// <remarks>lguest.c <c>tell_kernel()</c>: one 20-byte write. The calling thread becomes the guest's owner.</remarks>
    /// <exception cref="LguestHostException">The write failed, or the file is not an lguest device.</exception>
    public void Initialize(uint pfnLimit, uint pageDirectory, uint entryPoint)
    {
        if (_owner != 0)
        {
            throw new InvalidOperationException("the guest is already initialized");
        }

        Span<byte> request = stackalloc byte[LguestRequest.InitializeSize];
        LguestRequest.EncodeInitialize(request, _guestBase, pfnLimit, pageDirectory, entryPoint);
        long rc = Sys.Pwrite(_fd, request, Vcpu);
        if (rc < 0)
        {
            throw new LguestHostException($"writing LHREQ_INITIALIZE to {_path} failed", (int)-rc);
        }

        if (rc != LguestRequest.InitializeAccepted)
        {
            throw NotLguest($"LHREQ_INITIALIZE returned {rc}, not {LguestRequest.InitializeAccepted}");
        }

        _owner = Environment.CurrentManagedThreadId;
    }

    /// <inheritdoc/>
    /// <remarks>lguest.c <c>run_guest()</c>: <c>pread(fd, &amp;addr, 4, 0)</c> and its errnos (spec §2.3, §6.1).</remarks>
    /// <exception cref="LguestHostException">The read failed with another errno, or the file is not an lguest device.</exception>
    /// <exception cref="InvalidOperationException">Not initialized, or called from a thread other than the one that initialized.</exception>
    public ChannelEvent Run()
    {
        CheckOwner(nameof(Run));
        Span<byte> word = stackalloc byte[4];
        long rc = Sys.Pread(_fd, word, Vcpu);
        if (rc == 4)
        {
            return ChannelEvent.Notify(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(word));
        }

        if (rc >= 0)
        {
            throw NotLguest($"running the guest returned {rc}, not 4 or an error");
        }

        int errno = (int)-rc;
        if (errno == Sys.EAGAIN)
        {
            return ChannelEvent.Broken;
        }

        if (errno == Sys.ERESTART)
        {
            return ChannelEvent.Restart;
        }

        if (errno == Sys.ENOENT)
        {
            return ChannelEvent.Died(ReadReason());
        }

        throw new LguestHostException($"running the guest on {_path} failed", errno);
    }

    /// <inheritdoc/>
    /// <remarks>lguest.c <c>trigger_irq()</c>: the write must return 0.</remarks>
    /// <exception cref="LguestHostException">The write failed with anything but EINVAL, or the file is not an lguest device.</exception>
    /// <exception cref="InvalidOperationException">Not initialized, or called from a thread other than the one that initialized.</exception>
    public bool Interrupt(uint irq)
    {
        CheckOwner(nameof(Interrupt));
        Span<byte> request = stackalloc byte[LguestRequest.ShortSize];
        LguestRequest.EncodeIrq(request, irq);
        long rc = Sys.Pwrite(_fd, request, Vcpu);
        if (rc == 0)
        {
            return true;
        }

        if (rc == -Sys.EINVAL)
        {
            // The kernel refused the irq itself (≥ 32): the Launcher's fatal "triggering irq failed".
            return false;
        }

        throw rc > 0
            ? NotLguest($"LHREQ_IRQ returned {rc}, not 0")
            : new LguestHostException($"writing LHREQ_IRQ {irq} to {_path} failed", (int)-rc);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The Waker's <c>pwrite {LHREQ_BREAK, 1}</c>: blocks in the kernel until the run loop writes
    /// <c>{LHREQ_BREAK, 0}</c>. Any thread may call it. A failure is not reported here (the
    /// Waker's thread has nobody to tell): a dead guest answers ENOENT, and the run loop sees
    /// the death on its own next read.
    /// </remarks>
    public void Break()
    {
        Span<byte> request = stackalloc byte[LguestRequest.ShortSize];
        LguestRequest.EncodeBreak(request, on: true);
        _breakMayBeHeld = true;
        try
        {
            _ = Sys.Pwrite(_fd, request, Vcpu);
        }
        catch (ObjectDisposedException)
        {
            // The Launcher closed the device while the Waker was on its way here: the guest is gone.
        }
    }

    /// <inheritdoc/>
    /// <exception cref="LguestHostException">The write failed (lguest.c: "resetting break failed").</exception>
    public void ReleaseBreak()
    {
        long rc = WriteBreakOff();
        if (rc != 0)
        {
            throw rc > 0
                ? NotLguest($"LHREQ_BREAK returned {rc}, not 0")
                : new LguestHostException($"resetting the break on {_path} failed", (int)-rc);
        }
    }

    /// <summary>
    /// Lets a Waker still held in <see cref="Break"/> go (ignoring ENOENT from a dead guest),
    /// then closes the device, which destroys the guest.
    /// </summary>
    public void Dispose()
    {
        if (_fd.IsClosed)
        {
            return;
        }

        if (_breakMayBeHeld && _owner != 0)
        {
            _ = WriteBreakOff();
        }

        _fd.Dispose();
    }

    private long WriteBreakOff()
    {
        Span<byte> request = stackalloc byte[LguestRequest.ShortSize];
        LguestRequest.EncodeBreak(request, on: false);
        long rc = Sys.Pwrite(_fd, request, Vcpu);
        _breakMayBeHeld = false;
        return rc;
    }

    /// <summary>The reason of a dead guest: a second read returns it, NUL included (spec §2.3).</summary>
    private string ReadReason()
    {
        Span<byte> buffer = stackalloc byte[ReasonBufferSize];
        buffer.Clear();
        long rc = Sys.Pread(_fd, buffer[..(ReasonBufferSize - 1)], Vcpu);
        if (rc < 0)
        {
            throw new LguestHostException($"reading the dead guest's reason from {_path} failed", (int)-rc);
        }

        int nul = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(buffer[..(nul < 0 ? ReasonBufferSize - 1 : nul)]);
    }

    private void CheckOwner(string call)
    {
        if (_owner == 0)
        {
            throw new InvalidOperationException($"{call} before Initialize");
        }

        if (Environment.CurrentManagedThreadId != _owner)
        {
            // lg.ko would answer EPERM: the run loop has moved off the thread that created the guest.
            throw new InvalidOperationException($"{call} from thread {Environment.CurrentManagedThreadId}; the guest belongs to thread {_owner}, which initialized it");
        }
    }

    private LguestHostException NotLguest(string what) => new($"{_path}: not an lguest device ({what})", 0);
}
