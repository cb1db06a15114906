using Tmds.Linux;

namespace LguestSim.Backends.Kernel.Interop;

internal static partial class Sys
{
    /// <summary>
    /// <c>pwrite(fd, buffer, buffer.Length, offset)</c>: the kernel's return value, or a negative
    /// errno (read at once).
    /// </summary>
    internal static unsafe long Pwrite(LguestDeviceHandle fd, ReadOnlySpan<byte> buffer, long offset)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);

            // SAFETY: p points at the pinned span, valid for buffer.Length bytes during the call.
            fixed (byte* p = buffer)
            {
                long n = LibC.pwrite((int)fd.DangerousGetHandle(), p, (size_t)(ulong)buffer.Length, offset);
                return n < 0 ? -LibC.errno : n;
            }
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }
}
