using System.Text;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Files;

/// <summary>
/// Writes a result file (a transcript) to what the user named: a regular file (or a new one)
/// is replaced atomically, through a temporary file beside it that never outlives the call;
/// anything else — a FIFO, a terminal, a device node — is written in place, never replaced.
/// </summary>
public static class OutputFile
{
    /// <summary>Writes <paramref name="text"/> (UTF-8, no BOM) to <paramref name="path"/>.</summary>
    /// <exception cref="IOException">
    /// The file cannot be written; the message names the path and why (a permission refused
    /// is reported this way too, never as an <see cref="UnauthorizedAccessException"/>).
    /// </exception>
    public static void WriteAllText(string path, string text)
    {
        byte[] bytes = new UTF8Encoding(false).GetBytes(text);
        string full = Path.GetFullPath(path);
        try
        {
            // A symbolic link names its target: that is the file to replace or write.
            string target = new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
            int type = Sys.FileType(target);
            if (type == Sys.DirectoryFile)
            {
                throw new IOException($"cannot write {path}: it is a directory");
            }

            if (type >= 0 && type != Sys.RegularFile)
            {
                using var stream = new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
                stream.Write(bytes);
                return;
            }

            ReplaceAtomically(target, bytes);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"cannot write {path}: {e.Message}", e);
        }
        catch (IOException e) when (!e.Message.StartsWith("cannot write ", StringComparison.Ordinal))
        {
            throw new IOException($"cannot write {path}: {e.Message}", e);
        }
    }

    private static void ReplaceAtomically(string target, byte[] bytes)
    {
        string directory = Path.GetDirectoryName(target) ?? "/";
        if (!Directory.Exists(directory))
        {
            throw new IOException($"directory {directory} does not exist");
        }

        string temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The temporary file is ours, not the user's: say what happened to theirs.
            throw new IOException(e.Message.Replace(temp, target, StringComparison.Ordinal), e);
        }
        finally
        {
            // Gone after a successful rename; after a failure, never left behind.
            File.Delete(temp);
        }
    }
}
