using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    private const int CLONE_NEWNET = 0x40000000;

    /// <summary><c>setns(fd, CLONE_NEWNET)</c> for the calling thread only: 0 or a negative errno.</summary>
    internal static int SetNetNamespace(SafeFileHandle namespaceFile)
    {
        bool added = false;
        try
        {
            namespaceFile.DangerousAddRef(ref added);
            int rc = LibC.setns((int)namespaceFile.DangerousGetHandle(), CLONE_NEWNET);
            return rc < 0 ? -LibC.errno : 0;
        }
        finally
        {
            if (added)
            {
                namespaceFile.DangerousRelease();
            }
        }
    }
}
