using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>An eventfd(2): a counter the Waker polls for control messages.</summary>
internal sealed class EventFdHandle : SafeHandle
{
    private EventFdHandle()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public override bool IsInvalid => (long)handle < 0;

    /// <summary>Creates a non-blocking, close-on-exec eventfd.</summary>
    /// <exception cref="IOException">eventfd failed.</exception>
    internal static EventFdHandle Create()
    {
        var h = new EventFdHandle();
        int fd = LibC.eventfd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (fd < 0)
        {
            int errno = LibC.errno;
            h.Dispose();
            throw new IOException($"eventfd failed (errno {errno})");
        }

        h.SetHandle(new IntPtr(fd));
        return h;
    }

    /// <summary>Adds one to the counter (makes the fd readable).</summary>
    internal unsafe void Signal()
    {
        ulong one = 1;
        bool added = false;
        try
        {
            DangerousAddRef(ref added);

            // SAFETY: &one is an 8-byte local, valid for the duration of the call.
            LibC.write((int)handle, &one, 8);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Resets the counter to zero (non-blocking).</summary>
    internal unsafe void Drain()
    {
        ulong value;
        bool added = false;
        try
        {
            DangerousAddRef(ref added);

            // SAFETY: &value is an 8-byte local, valid for the duration of the call.
            LibC.read((int)handle, &value, 8);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}
