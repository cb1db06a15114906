using Tmds.Linux;

namespace LguestSim.Backends.Kernel.Interop;

internal static partial class Sys
{
    /// <summary>
    /// <c>pread(fd, buffer, buffer.Length, offset)</c>: the byte count, or a negative errno (read at once).
    /// </summary>
    internal static unsafe long Pread(LguestDeviceHandle fd, Span<byte> buffer, long offset)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);

            // SAFETY: p points at the pinned span, valid for buffer.Length bytes during the call.
            fixed (byte* p = buffer)
            {
                long n = LibC.pread((int)fd.DangerousGetHandle(), p, (size_t)(ulong)buffer.Length, offset);
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
