using System.Collections.Concurrent;
using LguestSim.Emulator.Fuse;

namespace LguestSim.Emulator.Lguest;

/// <summary>
/// A model of lg.ko's <c>/dev/lguest</c> (spec §2, <c>lguest_user.c</c>) as the one file of a
/// FUSE filesystem: each open is a guest of its own, created by its INITIALIZE and destroyed
/// by its last close.
/// </summary>
public sealed class LguestDeviceModel : IEmulatedFile
{
    private readonly IGuestFactory _factory;
    private readonly ConcurrentDictionary<ulong, EmulatedGuest> _guests = new();
    private long _nextHandle;

    /// <summary>A device whose guests <paramref name="factory"/> makes.</summary>
    public LguestDeviceModel(IGuestFactory factory) => _factory = factory;

    /// <summary>How long a halted guest may wait with nothing to wake it before it dies (the simulated vcpu's hang guard).</summary>
    public TimeSpan HaltTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Called with one line per thing that happens (opens, requests, run results), for a transcript; or null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Where to count what the device serves (<c>lgdev --stats</c>); null: nothing is counted.</summary>
    public LgdevStats? Stats { get; init; }

    /// <inheritdoc/>
    public ulong Open()
    {
        ulong fh = (ulong)Interlocked.Increment(ref _nextHandle);
        _guests[fh] = new EmulatedGuest(fh, _factory, HaltTimeout, Log, Stats);
        Log?.Invoke($"open fh={fh}");
        return fh;
    }

    /// <inheritdoc/>
    public void Read(FuseCall call, ulong fh, ulong offset, uint size)
    {
        if (_guests.TryGetValue(fh, out EmulatedGuest? guest))
        {
            guest.Read(call, offset, size);
        }
        else
        {
            call.ReplyError(Errno.EBADF);
        }
    }

    /// <inheritdoc/>
    public void Write(FuseCall call, ulong fh, ulong offset, ReadOnlySpan<byte> data)
    {
        if (_guests.TryGetValue(fh, out EmulatedGuest? guest))
        {
            guest.Write(call, offset, data);
        }
        else
        {
            call.ReplyError(Errno.EBADF);
        }
    }

    /// <inheritdoc/>
    public void Release(ulong fh)
    {
        if (_guests.TryRemove(fh, out EmulatedGuest? guest))
        {
            guest.Dispose();
            Log?.Invoke($"release fh={fh}");
        }
    }

    /// <summary>Destroys every guest still open (at shutdown), releasing the calls they hold.</summary>
    public void ReleaseAll()
    {
        foreach (ulong fh in _guests.Keys)
        {
            Release(fh);
        }
    }
}

/// <summary>The errno values the device answers with (x86 Linux).</summary>
internal static class Errno
{
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int EPERM = 1;
    public const int ERESTART = 85;
}
