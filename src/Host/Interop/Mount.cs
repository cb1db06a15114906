using System.Runtime.InteropServices;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary><c>mount(2)</c>: 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Mount(string source, string target, string filesystemType, nuint flags, string data);
}
