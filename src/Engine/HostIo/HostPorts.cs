using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.HostIo;

/// <summary>The console's host side: the Launcher's stdin and stdout, or a simulated stand-in.</summary>
public interface IConsolePort
{
    /// <summary>Readiness of the input side.</summary>
    InputSource Input { get; }

    /// <summary>One scatter read (<c>readv</c>) into <paramref name="buffers"/>.</summary>
    /// <returns>Bytes read; 0 at end of file; a negative errno on failure.</returns>
    int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers);

    /// <summary>One gather write (<c>writev</c>) of <paramref name="buffers"/>.</summary>
    /// <returns>Bytes written, or a negative errno.</returns>
    int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers);

    /// <summary>Input failed for good: restore the terminal, if one was changed.</summary>
    void InputFailed();
}

/// <summary>The net device's host side: a tap interface, or an in-memory one.</summary>
public interface ITap
{
    /// <summary>Readiness: a frame is waiting.</summary>
    InputSource Input { get; }

    /// <summary>
    /// The MAC offered to the guest (VIRTIO_NET_F_MAC config). lguest.c offered the tap
    /// interface's own address; a real tap here offers one derived from it (see TunTap).
    /// </summary>
    ReadOnlySpan<byte> HardwareAddress { get; }

    /// <summary>Reads one frame, scattered over <paramref name="buffers"/> (truncated if longer).</summary>
    /// <returns>Frame bytes read, or ≤ 0 on failure.</returns>
    int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers);

    /// <summary>Writes one frame gathered from <paramref name="buffers"/>.</summary>
    /// <returns>Bytes written, or a negative errno.</returns>
    int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers);
}

/// <summary>The block device's host side: a file opened read/write.</summary>
/// <remarks>Called on the block device's worker thread.</remarks>
public interface IBlockStore
{
    /// <summary>The file size when the device was set up, in bytes.</summary>
    long Length { get; }

    /// <summary>Scatter read at <paramref name="offset"/> (<c>preadv</c>), filling the buffers in order.</summary>
    /// <returns>Bytes read: fewer than asked only at the end of the file, 0 at or past it; or a negative errno.</returns>
    long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset);

    /// <summary>Gather write at <paramref name="offset"/> (<c>pwritev</c>) of all the buffers, in order.</summary>
    /// <returns>Bytes written (fewer than asked means the write did not complete), or a negative errno.</returns>
    long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset);

    /// <summary><c>fdatasync</c>.</summary>
    /// <returns>0, or a negative errno.</returns>
    int FlushData();
}
