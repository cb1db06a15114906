using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>if_nametoindex(3)</c>: the interface's index, or 0 (with errno) when it does not exist.</summary>
    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string ifname);

    /// <summary>The index of interface <paramref name="name"/>, or a negative errno.</summary>
    internal static int InterfaceIndex(string name)
    {
        uint index = if_nametoindex(name);
        if (index == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return -(errno == 0 ? 19 /* ENODEV */ : errno);
        }

        return (int)index;
    }
}
