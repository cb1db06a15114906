using LguestSim.Engine;
using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Fuse;

/// <summary>
/// A FUSE connection spoken raw: <c>/dev/fuse</c> opened and mounted on a directory, read one
/// request at a time, answered one whole reply per write. No libfuse.
/// </summary>
/// <remarks>
/// The protocol itself (<c>linux/fuse.h</c>) is the caller's. Only one thread reads; any
/// thread may write a reply, since each reply is one write(2). Mounting needs root.
/// </remarks>
public sealed class FuseDevice : IDisposable
{
    /// <summary>ENODEV: the filesystem was unmounted, or the connection aborted.</summary>
    private const int ENODEV = 19;

    /// <summary>ENOENT on read: the request was interrupted before it could be read; on write: the kernel no longer waits for that reply.</summary>
    private const int ENOENT = 2;

    private const int EINTR = 4;
    private const int EAGAIN = 11;

    private readonly SafeFileHandle _fuse;

    private FuseDevice(SafeFileHandle fuse, string mountPoint)
    {
        _fuse = fuse;
        MountPoint = mountPoint;
    }

    /// <summary>The directory the filesystem is mounted on (absolute).</summary>
    public string MountPoint { get; }

    /// <summary>Opens <c>/dev/fuse</c> and mounts a new connection named <paramref name="name"/> on <paramref name="directory"/>.</summary>
    /// <exception cref="LguestHostException">/dev/fuse cannot be opened or the mount fails (e.g. EPERM when not root).</exception>
    public static FuseDevice Mount(string directory, string name)
    {
        string mountPoint = Path.GetFullPath(directory);
        SafeFileHandle fuse;
        try
        {
            fuse = File.OpenHandle("/dev/fuse", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LguestHostException($"cannot open /dev/fuse: {e.Message}", 0);
        }

        int errno = FuseIo.Mount(fuse, name, mountPoint);
        if (errno != 0)
        {
            fuse.Dispose();
            throw new LguestHostException($"cannot mount a FUSE filesystem on {mountPoint}", errno);
        }

        return new FuseDevice(fuse, mountPoint);
    }

    /// <summary>Detaches whatever is mounted at exactly <paramref name="directory"/> (<c>umount2(MNT_DETACH)</c>).</summary>
    /// <returns>0, or the errno (EINVAL: nothing is mounted there).</returns>
    public static int Unmount(string directory) => FuseIo.Unmount(Path.GetFullPath(directory));

    /// <summary>Reads the next request into <paramref name="buffer"/>, which must hold the largest one (max_write plus a page).</summary>
    /// <returns>The request's length, or 0 when the connection has ended (unmounted or aborted).</returns>
    /// <exception cref="LguestHostException">The read failed otherwise.</exception>
    public int Read(Span<byte> buffer)
    {
        while (true)
        {
            int r = FuseIo.Read(_fuse, buffer);
            if (r > 0)
            {
                return r;
            }

            switch (-r)
            {
                case ENODEV:
                case 0:
                    return 0;
                case ENOENT: // the request was interrupted and dropped before we read it
                case EINTR:
                case EAGAIN:
                    continue;
                default:
                    throw new LguestHostException("cannot read from /dev/fuse", -r);
            }
        }
    }

    /// <summary>Writes one reply.</summary>
    /// <returns>0, or the errno: ENOENT when the kernel no longer waits for this reply (the request was aborted), which the caller may ignore.</returns>
    public int Write(ReadOnlySpan<byte> reply)
    {
        int r = FuseIo.Write(_fuse, reply);
        return r < 0 ? -r : 0;
    }

    /// <summary>Closes the connection's descriptor, which aborts it if it is still mounted.</summary>
    public void Dispose() => _fuse.Dispose();
}
