using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>MNT_DETACH</c>: lazy unmount; the mount disappears now, the filesystem when its last user goes.</summary>
    internal const int MntDetach = 2;

    /// <summary><c>umount2(2)</c>: 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);
}
