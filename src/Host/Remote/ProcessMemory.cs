using LguestSim.Engine;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Remote;

/// <summary>
/// Another process's memory, copied in and out at its virtual addresses with
/// <c>process_vm_readv</c>/<c>process_vm_writev</c>: how the emulated <c>/dev/lguest</c>
/// reaches the Launcher's guest memory from outside its address space.
/// </summary>
/// <remarks>
/// <para>
/// The id may be the process id or the id of any of its threads: both calls look the id up
/// as a task (<c>find_task_by_vpid</c>) and use that task's address space, which every
/// thread of a process shares. So the thread id a FUSE request carries (the caller of
/// <c>read</c>/<c>write</c> on the device, one of the Launcher's threads) serves as well as
/// the pid; the test <c>ProcessMemoryTests.AnotherThreadsId_ReachesTheSameMemory</c> pins it.
/// Permission is the ptrace-attach check (same uid and not dumpable-protected, or
/// <c>CAP_SYS_PTRACE</c>).
/// </para>
/// <para>
/// A copy may stop short at an unmapped page; it is retried from there, and the retry then
/// fails with <c>EFAULT</c>. Nothing here checks addresses: callers bound them first.
/// </para>
/// </remarks>
public sealed class ProcessMemory
{
    private const int EFAULT = 14;

    /// <summary>The memory of process (or thread) <paramref name="processId"/>.</summary>
    public ProcessMemory(int processId)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processId);
        ProcessId = processId;
    }

    /// <summary>The process or thread id the copies name.</summary>
    public int ProcessId { get; }

    /// <summary>Copies <c>destination.Length</c> bytes at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="LguestHostException">A copy failed; <see cref="LguestHostException.Errno"/> is e.g. EFAULT (unmapped), ESRCH (no such process), EPERM.</exception>
    public void Read(ulong address, Span<byte> destination)
    {
        int errno = TryRead(address, destination);
        if (errno != 0)
        {
            throw Failure("read", address, destination.Length, errno);
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="address"/>.</summary>
    /// <exception cref="LguestHostException">A copy failed; <see cref="LguestHostException.Errno"/> is e.g. EFAULT (unmapped or read-only), ESRCH, EPERM.</exception>
    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        int errno = TryWrite(address, source);
        if (errno != 0)
        {
            throw Failure("write", address, source.Length, errno);
        }
    }

    /// <summary>Like <see cref="Read"/>, but returns 0 or the positive errno; on failure <paramref name="destination"/> may be partly filled.</summary>
    public int TryRead(ulong address, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            long n = Sys.ProcessVmRead(ProcessId, address, destination);
            if (n <= 0)
            {
                // 0 for a non-empty request cannot make progress: report it as the fault it is.
                return n == 0 ? EFAULT : (int)-n;
            }

            destination = destination[(int)n..];
            address += (ulong)n;
        }

        return 0;
    }

    /// <summary>Like <see cref="Write"/>, but returns 0 or the positive errno; on failure a prefix may have been written.</summary>
    public int TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            long n = Sys.ProcessVmWrite(ProcessId, address, source);
            if (n <= 0)
            {
                return n == 0 ? EFAULT : (int)-n;
            }

            source = source[(int)n..];
            address += (ulong)n;
        }

        return 0;
    }

    private LguestHostException Failure(string what, ulong address, int length, int errno) =>
        new($"cannot {what} {length} bytes at 0x{address:x} in process {ProcessId}", errno);
}
