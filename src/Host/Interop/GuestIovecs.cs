using System.Buffers;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Tmds.Linux;

namespace LguestSim.Host.Interop;

/// <summary>A scatter/gather system call made over iovecs that point into guest memory.</summary>
internal interface IIovecCall
{
    /// <summary>Makes the call over <paramref name="count"/> iovecs at <paramref name="iov"/>.</summary>
    unsafe long Invoke(iovec* iov, int count);
}

/// <summary>
/// The one place guest buffers become iovecs: each buffer is checked against guest memory,
/// the memory is pinned, and an iovec per buffer points straight at its bytes for the
/// duration of one <see cref="IIovecCall"/> (readv/writev for streams, preadv/pwritev for files).
/// </summary>
internal static class GuestIovecs
{
    /// <summary>iovecs kept on the stack: 16 × 16 bytes.</summary>
    private const int StackIovecs = 16;

    /// <summary>Builds the iovecs for <paramref name="buffers"/> and runs <paramref name="call"/> over them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A buffer is not inside guest memory.</exception>
    internal static unsafe long Run<TCall>(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, TCall call)
        where TCall : struct, IIovecCall
    {
        foreach (GuestBuffer b in buffers)
        {
            if (!memory.IsValidRange(b.Address, b.Length))
            {
                throw new ArgumentOutOfRangeException(nameof(buffers), $"buffer 0x{b.Address:x}+0x{b.Length:x} is outside guest memory");
            }
        }

        iovec[]? rented = null;
        Span<iovec> iovecs = buffers.Length <= StackIovecs
            ? stackalloc iovec[StackIovecs]
            : (rented = ArrayPool<iovec>.Shared.Rent(buffers.Length));
        try
        {
            // SAFETY: guest memory is one contiguous range [0, Limit) (lguest.c's guest_base +
            // P); the span over all of it is fixed here, which pins a managed backing array
            // (and costs nothing for mmap'd memory) until the block ends. Every iovec is
            // guestBase + address with [address, address + length) checked above to lie in
            // [0, Limit), so the kernel only ever touches pinned guest bytes. The iovec array
            // is on the stack or a rented array fixed for the same block.
            fixed (byte* guestBase = memory.GetSpan(0, memory.Limit))
            fixed (iovec* iov = iovecs)
            {
                for (int i = 0; i < buffers.Length; i++)
                {
                    iov[i].iov_base = guestBase + buffers[i].Address;
                    iov[i].iov_len = buffers[i].Length;
                }

                return call.Invoke(iov, buffers.Length);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<iovec>.Shared.Return(rented);
            }
        }
    }
}
