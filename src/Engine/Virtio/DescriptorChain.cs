using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Virtio;

/// <summary>
/// A chain popped from a virtqueue and fully validated: its head, and its buffers with
/// all readable ("out") ones first, then all writable ("in") ones.
/// </summary>
/// <remarks>
/// lguest.c hands devices an iovec array plus out/in counts from <c>get_vq_desc()</c>;
/// this is the same thing, with the addresses kept guest-physical so that devices reach
/// the bytes only through <see cref="GuestMemory"/>. The buffers live in the queue's own
/// scratch array and stay valid until the next pop from the same queue.
/// </remarks>
public readonly ref struct DescriptorChain
{
    private readonly ReadOnlySpan<GuestBuffer> _buffers;

    internal DescriptorChain(ushort head, ReadOnlySpan<GuestBuffer> buffers, int readableCount)
    {
        Head = head;
        _buffers = buffers;
        ReadableCount = readableCount;
    }

    /// <summary>The head descriptor index: what goes back in the used ring.</summary>
    public ushort Head { get; }

    /// <summary>Number of readable buffers (<c>out</c>).</summary>
    public int ReadableCount { get; }

    /// <summary>Number of writable buffers (<c>in</c>).</summary>
    public int WritableCount => _buffers.Length - ReadableCount;

    /// <summary>All buffers, readable first.</summary>
    public ReadOnlySpan<GuestBuffer> Buffers => _buffers;

    /// <summary>The readable buffers, in chain order.</summary>
    public ReadOnlySpan<GuestBuffer> Readable => _buffers[..ReadableCount];

    /// <summary>The writable buffers, in chain order.</summary>
    public ReadOnlySpan<GuestBuffer> Writable => _buffers[ReadableCount..];

    /// <summary>Total bytes of the writable buffers (64-bit: a chain may exceed 4 GiB in sum).</summary>
    public ulong WritableBytes
    {
        get
        {
            ulong total = 0;
            foreach (GuestBuffer b in Writable)
            {
                total += b.Length;
            }

            return total;
        }
    }
}
