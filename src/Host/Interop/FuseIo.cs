using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Interop;

/// <summary>The raw calls on a <c>/dev/fuse</c> descriptor: mount, one read, one write, unmount.</summary>
internal static class FuseIo
{
    /// <summary><c>MS_NOSUID | MS_NODEV</c>.</summary>
    private const nuint MountFlags = 0x2 | 0x4;

    /// <summary>Mounts a FUSE filesystem served through <paramref name="fuse"/> on <paramref name="directory"/>.</summary>
    /// <returns>0, or the errno of mount(2).</returns>
    internal static int Mount(SafeFileHandle fuse, string name, string directory)
    {
        bool added = false;
        try
        {
            fuse.DangerousAddRef(ref added);
            int fd = (int)fuse.DangerousGetHandle();
            string options = $"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other";
            int r = Sys.Mount(name, directory, "fuse." + name, MountFlags, options);
            return r < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            if (added)
            {
                fuse.DangerousRelease();
            }
        }
    }

    /// <summary>Detaches the mount at exactly <paramref name="directory"/>.</summary>
    /// <returns>0, or the errno of umount2(2).</returns>
    internal static int Unmount(string directory) =>
        Sys.Umount2(directory, Sys.MntDetach) < 0 ? Marshal.GetLastPInvokeError() : 0;

    /// <summary>Reads one request.</summary>
    /// <returns>The byte count, or minus the errno.</returns>
    internal static unsafe int Read(SafeFileHandle fuse, Span<byte> buffer)
    {
        // SAFETY: the pointer is the pinned span's start and the count its length, both
        // valid until fixed ends, which is after read returns.
        fixed (byte* p = buffer)
        {
            nint r = Sys.Read(fuse, p, (nuint)buffer.Length);
            return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
        }
    }

    /// <summary>Writes one whole reply.</summary>
    /// <returns>The byte count, or minus the errno.</returns>
    internal static unsafe int Write(SafeFileHandle fuse, ReadOnlySpan<byte> reply)
    {
        // SAFETY: as in Read: pinned span, its own length, valid for the call.
        fixed (byte* p = reply)
        {
            nint r = Sys.Write(fuse, p, (nuint)reply.Length);
            return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
        }
    }
}
