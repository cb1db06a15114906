using System.Diagnostics;
using LguestSim.Backends.Simulated.Guest;
using LguestSim.Engine;
using LguestSim.Host.Remote;

namespace LguestSim.Emulator.Guest;

/// <summary>
/// The simulated guest's physical memory when it runs behind the emulated <c>/dev/lguest</c>:
/// the Launcher's mapping, in the Launcher's process, reached with
/// <c>process_vm_readv</c>/<c>process_vm_writev</c> at <c>base + address</c>.
/// </summary>
/// <remarks>
/// <para>
/// <c>base</c> is the Launcher's <c>guest_base</c> (the user address it gave in
/// <c>LHREQ_INITIALIZE</c>) and <see cref="Limit"/> is <c>pfnlimit * 4096</c>. Every access
/// is checked against the limit, overflow-proof, <em>before</em> any system call, so the
/// guest can never reach the Launcher outside <c>[base, base + Limit)</c>; the sum
/// <c>base + address</c> is formed only for an address already below the limit, and the
/// constructor refuses a base whose range would wrap.
/// </para>
/// <para>
/// A copy that fails (the Launcher unmapped its memory, or exited) is a
/// <see cref="GuestPhysicalMemoryException"/> carrying the <see cref="LguestHostException"/>
/// with its errno: the guest dies, as a guest whose memory vanished would.
/// </para>
/// </remarks>
public sealed class RemoteGuestPhysicalMemory : IGuestPhysicalMemory
{
    private readonly ProcessMemory _process;

    /// <summary>Guest memory at <paramref name="guestBase"/> in process (or thread) <paramref name="processId"/>, <paramref name="limit"/> bytes.</summary>
    /// <param name="processId">The Launcher's pid, or the id of any of its threads (see <see cref="ProcessMemory"/>).</param>
    /// <param name="guestBase">The Launcher's <c>guest_base</c>: where guest-physical 0 is in its address space.</param>
    /// <param name="limit"><c>pfnlimit * 4096</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><c>guestBase + limit</c> does not fit in 64 bits.</exception>
    public RemoteGuestPhysicalMemory(int processId, ulong guestBase, ulong limit)
    {
        if (limit > ulong.MaxValue - guestBase)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), $"guest memory 0x{guestBase:x}+0x{limit:x} wraps the address space");
        }

        _process = new ProcessMemory(processId);
        Base = guestBase;
        Limit = limit;
    }

    /// <summary>Where to count the copies and their time (<c>lgdev --stats</c>); null: nothing is counted.</summary>
    public LgdevStats? Stats { get; init; }

    /// <summary>The process or thread id the copies name.</summary>
    public int ProcessId => _process.ProcessId;

    /// <summary>The Launcher's <c>guest_base</c>.</summary>
    public ulong Base { get; }

    /// <inheritdoc/>
    public ulong Limit { get; }

    /// <inheritdoc/>
    public void Read(ulong address, Span<byte> destination)
    {
        GuestPhysicalMemoryExtensions.CheckInside(Limit, address, (ulong)destination.Length);
        if (destination.IsEmpty)
        {
            return;
        }

        long start = Stats is null ? 0 : Stopwatch.GetTimestamp();
        int errno = _process.TryRead(Base + address, destination);
        Stats?.VmRead(start, destination.Length);
        if (errno != 0)
        {
            throw Failed("read", address, destination.Length, errno);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        GuestPhysicalMemoryExtensions.CheckInside(Limit, address, (ulong)source.Length);
        if (source.IsEmpty)
        {
            return;
        }

        long start = Stats is null ? 0 : Stopwatch.GetTimestamp();
        int errno = _process.TryWrite(Base + address, source);
        Stats?.VmWrite(start, source.Length);
        if (errno != 0)
        {
            throw Failed("write", address, source.Length, errno);
        }
    }

    private GuestPhysicalMemoryException Failed(string what, ulong address, int length, int errno)
    {
        var host = new LguestHostException($"cannot {what} {length} bytes of guest memory at 0x{address:x} (0x{Base + address:x} in process {ProcessId})", errno);
        return new GuestPhysicalMemoryException(address, (ulong)length, host.Message, host);
    }
}
