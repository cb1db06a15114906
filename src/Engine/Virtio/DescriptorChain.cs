using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Virtio;

/// <summary>
/// A chain popped from a virtqueue and fully validated: its head, and its buffers with
/// all readable ("out") ones first, then all writable ("in") ones.
/// </summary>
/// <remarks>
/// lguest.c hands devices an iovec array plus out/in counts from <c>get_vq_desc()</c>;
/// this is the same thing, with the addresses kept guest-physical so that devices reach
/// the bytes only through <see cref="GuestMemory"/> or <see cref="GetSpan"/>, never past
/// guest_limit. The buffers live in the queue's own scratch array and stay valid until the
/// next pop from the same queue.
/// </remarks>
public readonly ref struct DescriptorChain
{
    private readonly ReadOnlySpan<GuestBuffer> _buffers;
    private readonly Span<byte> _guest;

    internal DescriptorChain(ushort head, ReadOnlySpan<GuestBuffer> buffers, int readableCount, Span<byte> guest)
    {
        Head = head;
        _buffers = buffers;
        ReadableCount = readableCount;
        _guest = guest;
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

    /// <summary>
    /// The bytes of buffer <paramref name="index"/> (readable buffers first), cut from the
    /// pop's window on <c>[0, guest_limit)</c>: no look-up of guest memory and no second
    /// overflow check, since the pop proved the range lies inside that window.
    /// </summary>
    /// <remarks>
    /// Being a slice of the window, the span cannot reach past guest_limit whatever the guest
    /// does. A device writing into a readable buffer is the device's own bug.
    /// </remarks>
    /// <exception cref="IndexOutOfRangeException"><paramref name="index"/> is not below <see cref="Buffers"/>' length.</exception>
    public Span<byte> GetSpan(int index)
    {
        GuestBuffer buffer = _buffers[index];
        return _guest.Slice((int)buffer.Address, (int)buffer.Length);
    }

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
