using System.Buffers;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Host.Tap;

/// <summary>
/// A tap that records every frame crossing it, in both directions, to a <see cref="PcapWriter"/>:
/// what the guest received (as the tap delivered it into the guest's buffers) and what it
/// transmitted (when the tap took it).
/// </summary>
/// <remarks>
/// The frames are copied out of guest memory after the read or before the write, on the
/// run loop's thread, so the capture's order is the order the device saw. Failed reads and
/// writes record nothing. The writer is shared (several net devices may write to one file)
/// and is not owned.
/// </remarks>
public sealed class PcapTap : ITap
{
    private readonly ITap _inner;
    private readonly PcapWriter _writer;

    /// <summary>Records the frames of <paramref name="inner"/> to <paramref name="writer"/>.</summary>
    public PcapTap(ITap inner, PcapWriter writer)
    {
        _inner = inner;
        _writer = writer;
    }

    /// <inheritdoc/>
    public InputSource Input => _inner.Input;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> HardwareAddress => _inner.HardwareAddress;

    /// <inheritdoc/>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        int read = _inner.Read(memory, buffers);
        if (read > 0)
        {
            Record(memory, buffers, read);
        }

        return read;
    }

    /// <inheritdoc/>
    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        int written = _inner.Write(memory, buffers);
        if (written >= 0)
        {
            long total = 0;
            foreach (GuestBuffer b in buffers)
            {
                total += b.Length;
            }

            Record(memory, buffers, (int)Math.Min(total, PcapWriter.SnapLength));
        }

        return written;
    }

    /// <summary>Gathers the first <paramref name="length"/> bytes of <paramref name="buffers"/> and writes them as one frame.</summary>
    private void Record(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, int length)
    {
        byte[] frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int done = 0;
            foreach (GuestBuffer b in buffers)
            {
                int n = (int)Math.Min(b.Length, (uint)(length - done));
                memory.GetSpan(b.Address, (ulong)n).CopyTo(frame.AsSpan(done));
                done += n;
                if (done == length)
                {
                    break;
                }
            }

            _writer.WriteFrame(frame.AsSpan(0, done));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }
}
