using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>fdatasync(2)</c>; returns 0 or a negative errno, read at once.</summary>
    internal static int FdataSync(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int rc = LibC.fdatasync((int)handle.DangerousGetHandle());
            return rc == 0 ? 0 : -LibC.errno;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
