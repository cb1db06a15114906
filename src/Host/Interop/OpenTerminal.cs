using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary>
    /// Opens a pseudo-terminal master (<c>posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)</c>),
    /// grants and unlocks its slave, and returns both ends plus the slave's path. The slave is
    /// opened with <c>O_NOCTTY</c>, so it never becomes this process's controlling terminal.
    /// </summary>
    /// <exception cref="IOException">A step failed (names it and the errno).</exception>
    internal static unsafe (SafeFileHandle Master, SafeFileHandle Slave, string SlavePath) OpenPseudoTerminal()
    {
        int fd = PosixOpenpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"posix_openpt failed (errno {errno})");
        }

        // SafeFileHandle cannot be handed an fd after construction, so it wraps the fd at
        // once; IsInvalid is "< 0" for it, so fd 0 would be valid too.
        var master = new SafeFileHandle(new IntPtr(fd), ownsHandle: true);
        bool opened = false;
        try
        {
            if (Grantpt(master) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"grantpt failed (errno {errno})");
            }

            if (Unlockpt(master) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"unlockpt failed (errno {errno})");
            }

            byte* name = stackalloc byte[128];

            // SAFETY: name is a 128-byte stack buffer; ptsname_r writes a NUL-terminated path of at most that length.
            int rc = PtsnameR(master, name, 128);
            if (rc != 0)
            {
                throw new IOException($"ptsname_r failed (errno {rc})");
            }

            var bytes = new ReadOnlySpan<byte>(name, 128);
            int nul = bytes.IndexOf((byte)0);
            string path = Encoding.ASCII.GetString(nul < 0 ? bytes : bytes[..nul]);
            SafeFileHandle slave = OpenNoControllingTerminal(path);
            opened = true;
            return (master, slave, path);
        }
        finally
        {
            if (!opened)
            {
                master.Dispose();
            }
        }
    }

    /// <summary><c>open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)</c> of a terminal device.</summary>
    /// <exception cref="IOException">open failed.</exception>
    internal static unsafe SafeFileHandle OpenNoControllingTerminal(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        int errno = 0;

        // SAFETY: name is a NUL-terminated byte array fixed for the call.
        fixed (byte* p = name)
        {
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
            if (fd < 0)
            {
                errno = LibC.errno;
            }
        }

        if (fd < 0)
        {
            throw new IOException($"cannot open {path} (errno {errno})");
        }

        return new SafeFileHandle(new IntPtr(fd), ownsHandle: true);
    }
}
