using System.Text;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

internal static partial class Sys
{
    /// <summary>
    /// <c>stat(2)</c> (symbolic links followed): the file type bits of <c>st_mode</c>
    /// (<c>S_IFMT</c>), or a negative errno, read at once.
    /// </summary>
    internal static unsafe int FileType(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = name)
        {
            // SAFETY: p points at a NUL-terminated copy of the path, pinned for the call; st is
            // a local the call fills in.
            if (LibC.stat(p, &st) != 0)
            {
                return -LibC.errno;
            }
        }

        return (int)((uint)st.st_mode & (uint)LibC.S_IFMT);
    }

    /// <summary><c>S_IFREG</c>: a regular file.</summary>
    internal static int RegularFile => (int)(uint)LibC.S_IFREG;

    /// <summary><c>S_IFDIR</c>: a directory.</summary>
    internal static int DirectoryFile => (int)(uint)LibC.S_IFDIR;
}
