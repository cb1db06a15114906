namespace LguestSim.Engine.Virtio;

/// <summary>
/// One queue's ring, looked up once, for a run of pops and completions: the loop a device
/// runs when the guest notifies it.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c's devices loop over <c>get_vq_desc()</c> and <c>add_used()</c> until the ring is
/// empty. Each call through <see cref="Virtqueue"/> finds the ring in guest memory again; this
/// view finds it once and hands the same span to every call, with exactly the same checks and
/// the same <c>last_avail_idx</c> as the queue's own methods (they are the same code).
/// </para>
/// <para>
/// The span is a window, not a copy: every index and descriptor is still read from guest
/// memory at the moment it is used. A <c>ref struct</c>, so it cannot outlive the call that
/// opened it or leave the thread.
/// </para>
/// </remarks>
public readonly ref struct VirtqueueRing
{
    private readonly Virtqueue _queue;
    private readonly Span<byte> _ring;
    private readonly Span<byte> _guest;

    internal VirtqueueRing(Virtqueue queue, Span<byte> ring, Span<byte> guest)
    {
        _queue = queue;
        _ring = ring;
        _guest = guest;
    }

    /// <inheritdoc cref="Virtqueue.TryPop(out DescriptorChain)"/>
    public bool TryPop(out DescriptorChain chain)
    {
        if (_queue.TryPopFromRing(_ring, _guest, out chain, out GuestFaultException? fault))
        {
            return true;
        }

        if (fault is not null)
        {
            throw fault;
        }

        return false;
    }

    /// <inheritdoc cref="Virtqueue.TryPop(out DescriptorChain, out GuestFaultException)"/>
    public bool TryPop(out DescriptorChain chain, out GuestFaultException? fault) => _queue.TryPopFromRing(_ring, _guest, out chain, out fault);

    /// <inheritdoc cref="Virtqueue.AddUsed(ushort, uint)"/>
    public void AddUsed(ushort head, uint length) => _queue.AddUsedToRing(_ring, head, length);
}
