namespace LguestSim.Tests.Property.Virtio;

/// <summary>A chain the guest offered: the token it passed to add_buf and the head it got back.</summary>
public sealed class OfferedChain(int id, int head, Engine.Virtio.GuestBuffer[] readable, Engine.Virtio.GuestBuffer[] writable)
{
    public int Id { get; } = id;

    public int Head { get; } = head;

    public Engine.Virtio.GuestBuffer[] Readable { get; } = readable;

    public Engine.Virtio.GuestBuffer[] Writable { get; } = writable;

    public int Count => Readable.Length + Writable.Length;

    public override string ToString() => $"#{Id}@{Head}";
}

/// <summary>
/// The pure model of one queue (both sides): what the guest staged, published, got back,
/// and what the host holds. It knows nothing about rings or descriptors.
/// </summary>
public sealed class QueueModel(int num, bool noNotify, bool noInterrupt)
{
    public int FreeCount { get; private set; } = num;

    public bool NoInterrupt { get; private set; } = noInterrupt;

    public long Notifies { get; set; }

    public long Published { get; private set; }

    public long Popped { get; private set; }

    public long Completed { get; private set; }

    public Queue<OfferedChain> Staged { get; } = new();

    public Queue<OfferedChain> Available { get; } = new();

    public List<OfferedChain> Held { get; } = new();

    public Queue<(OfferedChain Chain, uint Length)> Used { get; } = new();

    /// <summary>Heads the guest handed out and has not yet had back: each may complete once.</summary>
    public HashSet<int> InFlightHeads { get; } = new();

    /// <summary>add_buf: false (and a notify regardless of NO_NOTIFY) when there is no room.</summary>
    public bool HasRoomFor(int count)
    {
        if (count > FreeCount)
        {
            Notifies++;
            return false;
        }

        return true;
    }

    public void Add(OfferedChain chain)
    {
        FreeCount -= chain.Count;
        Staged.Enqueue(chain);
        InFlightHeads.Add(chain.Head);
    }

    public bool Kick()
    {
        while (Staged.Count > 0)
        {
            Available.Enqueue(Staged.Dequeue());
            Published++;
        }

        if (!noNotify)
        {
            Notifies++;
        }

        return !noNotify;
    }

    public OfferedChain? Pop()
    {
        if (Available.Count == 0)
        {
            return null;
        }

        Popped++;
        return Available.Dequeue();
    }

    public void Complete(OfferedChain chain, uint length)
    {
        Used.Enqueue((chain, length));
        Completed++;
    }

    public (OfferedChain Chain, uint Length)? Reclaim()
    {
        if (Used.Count == 0)
        {
            return null;
        }

        var done = Used.Dequeue();
        FreeCount += done.Chain.Count;
        InFlightHeads.Remove(done.Chain.Head);
        return done;
    }

    public void DisableCallbacks() => NoInterrupt = true;

    /// <summary>enable_cb: true unless used entries are already waiting.</summary>
    public bool EnableCallbacks()
    {
        NoInterrupt = false;
        return Used.Count == 0;
    }
}
