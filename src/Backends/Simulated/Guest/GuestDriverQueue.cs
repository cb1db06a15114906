using System.Buffers.Binary;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The guest's half of one virtqueue, as the 2.6.25 <c>virtio_ring.c</c> drives it: a free
/// list threaded through the shared descriptor table, <c>add_buf</c> that stages heads
/// without publishing them, <c>kick</c> that publishes and notifies, and <c>get_buf</c>.
/// </summary>
/// <remarks>
/// Spec §8.3 (find_vq) and §8.4. It reaches the ring only by copying in and out through
/// <see cref="IGuestPhysicalMemory"/>, so the Launcher sees the guest's stores as it would a real guest's.
/// </remarks>
public sealed class GuestDriverQueue
{
    private readonly IGuestPhysicalMemory _memory;
    private readonly VringLayout _layout;
    private readonly ulong _ring;
    private readonly object?[] _tokens;
    private readonly Action<uint> _notify;
    private int _freeHead;
    private int _pending;
    private ushort _lastUsed;

    /// <summary>Initialises the ring at <c>pfn * 4096</c> as the guest's <c>vring_new_virtqueue()</c> does.</summary>
    /// <param name="memory">Guest memory.</param>
    /// <param name="config">The queue's vqconfig as read from the device page.</param>
    /// <param name="notify">Performs <c>LHCALL_NOTIFY</c> with the given address.</param>
    /// <param name="hasCallback">False sets <c>VRING_AVAIL_F_NO_INTERRUPT</c> at once (the console's queues).</param>
    public GuestDriverQueue(IGuestPhysicalMemory memory, LguestVqConfig config, Action<uint> notify, bool hasCallback = true)
    {
        _memory = memory;
        _layout = new VringLayout(config.Num);
        Config = config;
        _ring = (ulong)config.Pfn * LguestLayout.PageSize;
        _tokens = new object?[config.Num];
        _notify = notify;
        for (int i = 0; i < config.Num - 1; i++)
        {
            WriteDescNext(i, (ushort)(i + 1));
        }

        NumFree = config.Num;
        if (!hasCallback)
        {
            DisableCallbacks();
        }
    }

    /// <summary>The queue's vqconfig.</summary>
    public LguestVqConfig Config { get; }

    /// <summary>Descriptors on the free list.</summary>
    public int NumFree { get; private set; }

    /// <summary>Set when the Launcher returned a head the guest never gave it; the ring is then dead.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>Chains staged by <see cref="TryAddBuf"/> but not yet published by <see cref="Kick"/>.</summary>
    public int Pending => _pending;

    /// <summary>The guest's published <c>avail.idx</c>.</summary>
    public ushort AvailIndex => _memory.ReadU16(AvailAddress + VringRingHeader.IdxOffset);

    /// <summary>The Launcher's <c>used.idx</c>.</summary>
    public ushort UsedIndex => _memory.ReadU16(UsedAddress + VringRingHeader.IdxOffset);

    /// <summary>Guest-physical address of the descriptor table.</summary>
    public ulong DescAddress => _ring;

    /// <summary>Guest-physical address of <c>vring_avail</c>.</summary>
    public ulong AvailAddress => _ring + (ulong)_layout.AvailOffset;

    /// <summary>Guest-physical address of <c>vring_used</c>.</summary>
    public ulong UsedAddress => _ring + (ulong)_layout.UsedOffset;

    /// <summary>The notify value of this queue: <c>pfn * 4096</c>.</summary>
    public uint NotifyAddress => Config.Pfn * LguestLayout.PageSize;

    /// <summary>
    /// Stages a chain of <paramref name="readable"/> then <paramref name="writable"/> buffers.
    /// </summary>
    /// <returns>
    /// The head, or -1 when there are not enough free descriptors; in that case the host is
    /// notified anyway, even under NO_NOTIFY (2.6.25 <c>vring_add_buf()</c>).
    /// </returns>
    public int TryAddBuf(ReadOnlySpan<GuestBuffer> readable, ReadOnlySpan<GuestBuffer> writable, object token)
    {
        int total = readable.Length + writable.Length;
        if (total == 0 || total > Config.Num)
        {
            throw new ArgumentException("a chain needs 1..num buffers");
        }

        if (NumFree < total)
        {
            _notify(NotifyAddress);
            return -1;
        }

        int head = _freeHead;
        int i = head;
        int last = head;
        for (int k = 0; k < total; k++)
        {
            GuestBuffer b = k < readable.Length ? readable[k] : writable[k - readable.Length];
            ushort flags = VringDesc.FlagNext;
            if (k >= readable.Length)
            {
                flags |= VringDesc.FlagWrite;
            }

            ushort next = ReadDescNext(i);
            WriteDesc(i, new VringDesc(b.Address, b.Length, flags, next));
            last = i;
            i = next;
        }

        // Clear NEXT on the last descriptor; its `next` keeps pointing into the free list.
        ulong lastFlags = _ring + ((ulong)last * VringDesc.Size) + 12;
        _memory.WriteU16(lastFlags, (ushort)(_memory.ReadU16(lastFlags) & ~VringDesc.FlagNext));

        _freeHead = i;
        NumFree -= total;
        _tokens[head] = token;

        // Stage the head in the avail ring; avail.idx is published only at kick time.
        ushort slot = (ushort)((AvailIndex + _pending) & (Config.Num - 1));
        _memory.WriteU16(AvailAddress + VringRingHeader.Size + (2UL * slot), (ushort)head);
        _pending++;
        return head;
    }

    /// <summary>
    /// Publishes staged chains and notifies the host unless it set <c>VRING_USED_F_NO_NOTIFY</c>.
    /// </summary>
    /// <returns>Whether a notify was made.</returns>
    public bool Kick()
    {
        Volatile.WriteBarrier();
        _memory.WriteU16(AvailAddress + VringRingHeader.IdxOffset, (ushort)(AvailIndex + _pending));
        _pending = 0;
        Interlocked.MemoryBarrier();
        if ((_memory.ReadU16(UsedAddress) & VringRingHeader.UsedNoNotify) != 0)
        {
            return false;
        }

        _notify(NotifyAddress);
        return true;
    }

    /// <summary>Whether the host has returned chains the guest has not collected (<c>more_used()</c>).</summary>
    public bool HasUsed => !IsBroken && _lastUsed != UsedIndex;

    /// <summary>
    /// Collects the next used chain and frees its descriptors (2.6.25 <c>vring_get_buf()</c>).
    /// </summary>
    /// <returns>False when nothing is used, or when the host returned a bad head (the ring is then broken).</returns>
    public bool TryGetBuf(out object? token, out uint length, out ushort head)
    {
        token = null;
        length = 0;
        head = 0;
        if (!HasUsed)
        {
            return false;
        }

        int slot = _lastUsed & (Config.Num - 1);
        Span<byte> raw = stackalloc byte[VringUsedElem.Size];
        _memory.Read(UsedAddress + VringRingHeader.Size + ((ulong)slot * VringUsedElem.Size), raw);
        var elem = VringUsedElem.Read(raw);
        if (elem.Id >= Config.Num || _tokens[elem.Id] is null)
        {
            IsBroken = true;
            return false;
        }

        head = (ushort)elem.Id;
        token = _tokens[head];
        _tokens[head] = null;
        FreeChain(head);
        _lastUsed++;
        length = elem.Len;
        return true;
    }

    /// <summary>Sets <c>VRING_AVAIL_F_NO_INTERRUPT</c> (<c>vring_disable_cb()</c>).</summary>
    public void DisableCallbacks() =>
        _memory.WriteU16(AvailAddress, (ushort)(_memory.ReadU16(AvailAddress) | VringRingHeader.AvailNoInterrupt));

    /// <summary>Clears NO_INTERRUPT (<c>vring_enable_cb()</c>).</summary>
    /// <returns>False when used entries are already waiting, so the caller should poll again.</returns>
    public bool EnableCallbacks()
    {
        _memory.WriteU16(AvailAddress, (ushort)(_memory.ReadU16(AvailAddress) & ~VringRingHeader.AvailNoInterrupt));
        Interlocked.MemoryBarrier();
        return !HasUsed;
    }

    /// <summary>Whether NO_INTERRUPT is currently set.</summary>
    public bool CallbacksDisabled => (_memory.ReadU16(AvailAddress) & VringRingHeader.AvailNoInterrupt) != 0;

    /// <summary>Hostile guest: overwrite descriptor <paramref name="index"/> with arbitrary contents.</summary>
    public void WriteRawDescriptor(int index, VringDesc desc) => WriteDesc(index, desc);

    /// <summary>Hostile guest: put <paramref name="head"/> in the avail ring at slot <c>avail.idx % num</c> without bookkeeping.</summary>
    public void WriteRawAvailEntry(ushort head)
    {
        ushort slot = (ushort)(AvailIndex & (Config.Num - 1));
        _memory.WriteU16(AvailAddress + VringRingHeader.Size + (2UL * slot), head);
    }

    /// <summary>Hostile guest: set <c>avail.idx</c> to any value.</summary>
    public void WriteRawAvailIndex(ushort idx) => _memory.WriteU16(AvailAddress + VringRingHeader.IdxOffset, idx);

    private void FreeChain(int head)
    {
        int i = head;
        int count = 1;

        // Bounded walk: a chain can never have more than num descriptors.
        while (count <= Config.Num)
        {
            var d = ReadDesc(i);
            if ((d.Flags & VringDesc.FlagNext) == 0)
            {
                break;
            }

            i = d.Next;
            count++;
        }

        WriteDescNext(i, (ushort)_freeHead);
        _freeHead = head;
        NumFree += count;
    }

    private VringDesc ReadDesc(int i)
    {
        Span<byte> raw = stackalloc byte[VringDesc.Size];
        _memory.Read(_ring + ((ulong)i * VringDesc.Size), raw);
        return VringDesc.Read(raw);
    }

    private void WriteDesc(int i, VringDesc d)
    {
        Span<byte> raw = stackalloc byte[VringDesc.Size];
        d.Write(raw);
        _memory.Write(_ring + ((ulong)i * VringDesc.Size), raw);
    }

    private ushort ReadDescNext(int i) => _memory.ReadU16(_ring + ((ulong)i * VringDesc.Size) + 14);

    private void WriteDescNext(int i, ushort next) => _memory.WriteU16(_ring + ((ulong)i * VringDesc.Size) + 14, next);
}
