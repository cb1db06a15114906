using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using LguestSim.Host.Interop;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Block;

/// <summary>
/// A block device's backing file, opened read/write: positioned scatter/gather reads and
/// writes straight between the file and guest memory, and a real <c>fdatasync</c> for barriers.
/// </summary>
/// <remarks>
/// Safe to use from the block worker thread: every call names its offset, nothing depends on
/// a file position. Nothing is buffered here: a write that returned went to the kernel.
/// </remarks>
public sealed class FileBlockStore : IBlockStore, IDisposable
{
    private readonly SafeFileHandle _handle;

    private FileBlockStore(SafeFileHandle handle, long length)
    {
        _handle = handle;
        Length = length;
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>Opens <paramref name="path"/> read/write; its current size is the device size.</summary>
    /// <exception cref="IOException">The file cannot be opened (the message names it).</exception>
    public static FileBlockStore Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot open block file {path}: {e.Message}", e);
        }

        return new FileBlockStore(handle, RandomAccess.GetLength(handle));
    }

    /// <inheritdoc/>
    /// <remarks>One <c>preadv</c> straight into the guest's buffers, resumed if it stops short before the end of the file.</remarks>
    public long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) =>
        GuestVectorIo.Read(_handle, memory, buffers, offset);

    /// <inheritdoc/>
    /// <remarks>
    /// One <c>pwritev</c> straight from the guest's buffers, resumed after a partial write; if
    /// the rest then fails (ENOSPC once the disk is full), the errno is returned, so a write
    /// that only partly reached the file is never reported as done.
    /// </remarks>
    public long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset) =>
        GuestVectorIo.Write(_handle, memory, buffers, offset);

    /// <inheritdoc/>
    public int FlushData() => Interop.Sys.FdataSync(_handle);

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();
}
