using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Microsoft.Win32.SafeHandles;

namespace LguestSim.Host.Block;

/// <summary>
/// A block device's backing file, opened read/write: positioned reads and writes straight
/// between the file and guest memory, and a real <c>fdatasync</c> for barriers.
/// </summary>
public sealed class FileBlockStore : IBlockStore, IDisposable
{
    private const int Eio = 5;
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
    public long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        long total = 0;
        try
        {
            foreach (GuestBuffer b in buffers)
            {
                Span<byte> span = memory.GetSpan(b.Address, b.Length);
                int n = 0;
                while (n < span.Length)
                {
                    int r = RandomAccess.Read(_handle, span[n..], offset + total + n);
                    if (r == 0)
                    {
                        return total + n;
                    }

                    n += r;
                }

                total += n;
            }
        }
        catch (IOException)
        {
            return -Eio;
        }

        return total;
    }

    /// <inheritdoc/>
    public long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        long total = 0;
        try
        {
            foreach (GuestBuffer b in buffers)
            {
                ReadOnlySpan<byte> span = memory.GetSpan(b.Address, b.Length);
                RandomAccess.Write(_handle, span, offset + total);
                total += span.Length;
            }
        }
        catch (IOException)
        {
            return -Eio;
        }

        return total;
    }

    /// <inheritdoc/>
    public int FlushData() => Interop.Sys.FdataSync(_handle);

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();
}
