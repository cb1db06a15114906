using System.Text;
using Tmds.Linux;

namespace LguestSim.Backends.Kernel.Interop;

internal static partial class Sys
{
    /// <summary>
    /// <c>open(path, O_RDWR | O_CLOEXEC)</c> into <paramref name="handle"/>: 0, or a negative errno
    /// (read at once). The handle is allocated before the call, so nothing leaks.
    /// </summary>
    internal static unsafe int OpenReadWrite(string path, out LguestDeviceHandle handle)
    {
        handle = new LguestDeviceHandle();
        byte[] name = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, name);
        int fd;
        int errno = 0;

        // SAFETY: p points at the NUL-terminated array, pinned for the call.
        fixed (byte* p = name)
        {
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            if (fd < 0)
            {
                errno = LibC.errno;
            }
        }

        if (fd < 0)
        {
            handle.Dispose();
            return -errno;
        }

        handle.Adopt(fd);
        return 0;
    }
}
