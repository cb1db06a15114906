namespace LguestSim.Engine.Loader;

/// <summary>
/// A kernel or initrd being read by the loader: a seekable stream plus the name the user
/// gave it, with every host failure turned into a one-line <see cref="LauncherException"/>.
/// </summary>
/// <remarks>
/// lguest.c reads with <c>open_or_die()</c>, <c>lseek()</c>, <c>read()</c> and
/// <c>map_at()</c>, each ending the Launcher with <c>err()</c>. Here the same failures
/// become one exception whose message names the file the way the user spelled it and the
/// OS reason, so the CLI can print it as the single line the original printed.
/// </remarks>
internal sealed class ImageFile : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;

    private ImageFile(Stream stream, string what, string name, bool ownsStream)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        What = what;
        Name = name;
        if (!stream.CanSeek || !stream.CanRead)
        {
            Dispose();
            ThrowHelper.ThrowLauncher($"{Label}: not a regular file (cannot seek)");
        }

        try
        {
            Length = stream.Length;
        }
        catch (IOException ex)
        {
            Dispose();
            ThrowHelper.ThrowLauncher($"{Label}: cannot get its size: {MessageText.OneLine(ex)}");
        }
    }

    /// <summary>"kernel" or "initrd".</summary>
    public string What { get; }

    /// <summary>The file name as the user gave it.</summary>
    public string Name { get; }

    /// <summary>"kernel vmlinux": the prefix of every message about this file.</summary>
    public string Label => $"{What} {MessageText.Escape(Name)}";

    /// <summary>File size in bytes (<c>fstat</c>).</summary>
    public long Length { get; }

    /// <summary>Opens <paramref name="path"/> for reading.</summary>
    /// <exception cref="LauncherException">The file cannot be opened; the message has the OS reason.</exception>
    public static ImageFile Open(string what, string path)
    {
        FileStream stream;
        try
        {
            // bufferSize 0: every read is one positioned read straight into guest memory.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.None);
        }
        catch (IOException ex)
        {
            throw CannotOpen(what, path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw CannotOpen(what, path, ex);
        }
        catch (ArgumentException ex)
        {
            throw CannotOpen(what, path, ex);
        }

        return new ImageFile(stream, what, path, ownsStream: true);
    }

    /// <summary>Wraps a caller-owned stream (tests, in-memory images); it is not disposed.</summary>
    /// <exception cref="LauncherException">The stream cannot seek.</exception>
    public static ImageFile FromStream(string what, string name, Stream stream) =>
        new(stream, what, name, ownsStream: false);

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes at <paramref name="offset"/>; fewer only at
    /// end of file.
    /// </summary>
    /// <returns>The number of bytes read.</returns>
    /// <exception cref="LauncherException">The read failed.</exception>
    public int ReadAt(long offset, Span<byte> destination)
    {
        try
        {
            _stream.Position = offset;
            return _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        }
        catch (IOException ex)
        {
            throw new LauncherException($"{Label}: read of 0x{destination.Length:x} bytes at offset 0x{offset:x} failed: {MessageText.OneLine(ex)}");
        }
    }

    /// <summary>Reads exactly <c>destination.Length</c> bytes at <paramref name="offset"/>.</summary>
    /// <exception cref="LauncherException">The read failed or came up short (lguest.c's "short read").</exception>
    public void ReadExactlyAt(long offset, Span<byte> destination, string what)
    {
        int got = ReadAt(offset, destination);
        if (got != destination.Length)
        {
            ThrowHelper.ThrowLauncher($"{Label}: short read of {what} (offset 0x{offset:x}, wanted 0x{destination.Length:x} bytes, got 0x{got:x})");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    private static LauncherException CannotOpen(string what, string path, Exception ex) =>
        new($"{what} {MessageText.Escape(path)}: cannot open: {OpenReason(ex, path)}");

    /// <summary>The OS reason for a failed open, in <c>strerror()</c> words where we can tell.</summary>
    private static string OpenReason(Exception ex, string path) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException when Directory.Exists(path) => "Is a directory",
        UnauthorizedAccessException => "Permission denied",
        ArgumentException => "invalid file name",
        _ => MessageText.OneLine(ex),
    };
}
