using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;

namespace LguestSim.Engine.Virtio;

/// <summary>
/// The Launcher's side of one split virtqueue (2.6.25 layout): it takes chains the guest
/// made available, validates them completely, and returns them on the used ring.
/// </summary>
/// <remarks>
/// <para>
/// The ring lives in guest memory at <c>pfn * 4096</c>, in pages the Launcher allocated
/// above guest RAM, so its location is trusted; everything <em>in</em> it is written by the
/// guest and is not. Every descriptor is copied out of guest memory exactly once and only
/// the copy is checked and used: a guest (or, with real hardware, another vcpu) that
/// rewrites a descriptor after it was checked cannot slip a different address past us.
/// </para>
/// <para>
/// The only state of our own is <c>last_avail_idx</c>, the u16 count of chains taken so
/// far. Everything else is re-derived from the ring on each call, like lguest.c does.
/// </para>
/// </remarks>
public sealed class Virtqueue
{
    private readonly GuestMemory _memory;
    private readonly VringLayout _layout;
    private readonly ulong _ringAddress;
    private readonly int _ringOffset;
    private readonly uint _num;
    private readonly int _mask;
    private readonly int _availIdxOffset;
    private readonly int _availRingOffset;
    private readonly int _ringSize;
    private readonly int _usedIdxOffset;
    private readonly int _usedRingOffset;
    private readonly GuestBuffer[] _scratch;
    private ushort _lastAvailIdx;

    /// <summary>Creates the Launcher's view of a ring whose pages are already allocated.</summary>
    /// <param name="memory">Guest memory holding the ring.</param>
    /// <param name="config">Queue size, irq and ring pfn as written to the device page.</param>
    /// <param name="hasHandler">
    /// Whether the queue has an output handler. Spec §4.8: a queue without one gets
    /// <c>VRING_USED_F_NO_NOTIFY</c> at creation (never the case in this Launcher's devices).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The size is not a power of two from 1 to 32768.</exception>
    /// <exception cref="GuestFaultException">The ring is not inside guest memory (a Launcher bug, not a guest one).</exception>
    public Virtqueue(GuestMemory memory, LguestVqConfig config, bool hasHandler = true)
    {
        _memory = memory;
        _layout = new VringLayout(config.Num);
        Config = config;
        _ringAddress = (ulong)config.Pfn * LguestLayout.PageSize;
        _num = config.Num;
        _mask = config.Num - 1;
        _availIdxOffset = _layout.AvailOffset + VringRingHeader.IdxOffset;
        _availRingOffset = _layout.AvailOffset + VringRingHeader.Size;
        _ringSize = _layout.TotalSize;
        _usedIdxOffset = _layout.UsedOffset + VringRingHeader.IdxOffset;
        _usedRingOffset = _layout.UsedOffset + VringRingHeader.Size;
        _scratch = new GuestBuffer[config.Num];

        // Prove once that the whole ring is addressable; later spans are then always valid
        // (guest_limit never shrinks), and its offset fits an int.
        memory.GetSpan(_ringAddress, (ulong)_layout.TotalSize);
        _ringOffset = (int)_ringAddress;
        if (!hasHandler)
        {
            SetUsedFlags(VringRingHeader.UsedNoNotify);
        }
    }

    /// <summary>The queue's size, irq and pfn.</summary>
    public LguestVqConfig Config { get; }

    /// <summary>The ring layout.</summary>
    public VringLayout Layout => _layout;

    /// <summary>Guest-physical address of the ring (<c>pfn * 4096</c>).</summary>
    public ulong RingAddress => _ringAddress;

    /// <summary>The Launcher's private <c>last_avail_idx</c>.</summary>
    public ushort LastAvailIndex => _lastAvailIdx;

    /// <summary>
    /// Takes the next available chain, validating it against every rule of spec §4.5.
    /// </summary>
    /// <returns>False when the guest has made nothing new available.</returns>
    /// <exception cref="GuestFaultException">
    /// <see cref="GuestFault.AvailIndexJump"/>, <see cref="GuestFault.HeadIndexOutOfRange"/>,
    /// <see cref="GuestFault.BufferOutOfBounds"/>, <see cref="GuestFault.ReadableAfterWritable"/>,
    /// <see cref="GuestFault.ChainTooLong"/> or <see cref="GuestFault.NextIndexOutOfRange"/>.
    /// </exception>
    /// <remarks>lguest.c <c>get_vq_desc()</c>. To take many chains in a row, <see cref="OpenRing"/> once.</remarks>
    public bool TryPop(out DescriptorChain chain) => OpenRing().TryPop(out chain);

    /// <summary>
    /// <see cref="TryPop(out DescriptorChain)"/> that reports a broken rule as a value instead of
    /// throwing it: what devices use, since a hostile guest makes faults as common as chains.
    /// </summary>
    /// <param name="chain">The chain taken, when the result is true.</param>
    /// <param name="fault">The rule the ring broke, when the result is false because of one; null otherwise.</param>
    /// <returns>True when a valid chain was taken; false when there was none, or on a fault.</returns>
    public bool TryPop(out DescriptorChain chain, out GuestFaultException? fault) => OpenRing().TryPop(out chain, out fault);

    /// <summary>
    /// The ring as one span for a run of <see cref="VirtqueueRing.TryPop(out DescriptorChain, out GuestFaultException)"/> and
    /// <see cref="VirtqueueRing.AddUsed"/> calls: what a device does on a notify.
    /// </summary>
    /// <remarks>
    /// Each pop or completion through the queue itself looks guest memory up again; through
    /// this view the look-up happens once. The view is only a window on guest memory: nothing
    /// in the ring is read until a pop asks for it, so it may be held as long as the caller
    /// likes on one thread. Its window is <c>[0, guest_limit)</c> as it was when opened, which
    /// is final once the guest runs (only device set-up raises the limit).
    /// </remarks>
    public VirtqueueRing OpenRing()
    {
        Span<byte> guest = GuestSpan();
        return new(this, guest.Slice(_ringOffset, _ringSize), guest);
    }

    /// <summary>
    /// All of guest memory the guest may touch, <c>[0, guest_limit)</c>: the window through
    /// which a popped chain's buffers are reached, so that no span made from it can leave it.
    /// </summary>
    private Span<byte> GuestSpan() => _memory.GetValidatedSpan(0, (uint)_memory.Limit);

    /// <summary>The whole ring (descriptor table, avail, used), proven addressable when the queue was made.</summary>
    private Span<byte> RingSpan() => _memory.GetValidatedSpan(_ringAddress, (uint)_ringSize);

    /// <summary>The flags field of <c>vring_avail</c> or <c>vring_used</c>, at <paramref name="headerOffset"/> in the ring.</summary>
    private Span<byte> RingFlags(int headerOffset) => RingSpan().Slice(headerOffset, 2);

    /// <summary><see cref="TryPop(out DescriptorChain, out GuestFaultException)"/> on the ring's span, with buffers checked against <paramref name="guest"/>.</summary>
    /// <remarks>Every field is read through a fixed-length slice, so each read costs one range check.</remarks>
    internal bool TryPopFromRing(ReadOnlySpan<byte> ring, Span<byte> guest, out DescriptorChain chain, out GuestFaultException? fault)
    {
        // ORDERING: avail.idx is read before the ring entry it covers; the guest wrote the
        // entry before publishing the index (its kick() has a write barrier in between).
        ushort availIdx = BinaryPrimitives.ReadUInt16LittleEndian(ring.Slice(_availIdxOffset, 2));
        Volatile.ReadBarrier();

        // The guest may only have made up to num chains available since we last looked: a
        // bigger jump means it has lost track of the ring (or is lying to us), and trusting
        // any entry after that could hand out a head twice. lguest gives up here, and so do we.
        ushort lastAvailIdx = _lastAvailIdx;
        ushort pending = (ushort)(availIdx - lastAvailIdx);
        if (pending > _num)
        {
            chain = default;
            fault = AvailJump(availIdx);
            return false;
        }

        if (pending == 0)
        {
            chain = default;
            fault = null;
            return false;
        }

        int slot = lastAvailIdx & _mask;
        ushort head = BinaryPrimitives.ReadUInt16LittleEndian(ring.Slice(_availRingOffset + (2 * slot), 2));
        _lastAvailIdx = (ushort)(lastAvailIdx + 1);
        if (head >= _num)
        {
            chain = default;
            fault = HeadOutOfRange(head);
            return false;
        }

        ReadOnlySpan<GuestBuffer> buffers = Walk(ring, head, (ulong)guest.Length, out int readable, out fault);
        if (fault is not null)
        {
            chain = default;
            return false;
        }

        chain = new DescriptorChain(head, buffers, readable, guest);
        return true;
    }

    /// <summary>
    /// Follows a chain from <paramref name="head"/>, copying each descriptor once and
    /// checking the copy. At most <c>num</c> are taken; a <c>num + 1</c>-th is read and checked
    /// only to find the loop.
    /// </summary>
    /// <remarks>
    /// The checks come in lguest.c's order for each descriptor (bounds, readable-after-writable,
    /// loop, then next), so a chain that breaks two rules faults on the same one as the original.
    /// </remarks>
    /// <returns>The buffers (a slice of the scratch array); empty on a fault, with <paramref name="fault"/> set.</returns>
    // Inlined into the pop (its only caller) so that the ring and window spans stay in
    // registers instead of being passed through a call on every chain.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<GuestBuffer> Walk(ReadOnlySpan<byte> table, ushort head, ulong limit, out int readable, out GuestFaultException? fault)
    {
        readable = 0;

        // The scratch array has exactly num entries: its length is the loop bound as well as
        // the index bound, which lets the JIT drop its own check on the store below.
        Span<GuestBuffer> scratch = _scratch;
        int count = 0;
        int writable = 0;
        uint i = head;
        while (true)
        {
            // The descriptor is copied out of guest memory once, as two little-endian words:
            // addr, then len | flags << 32 | next << 48. Only the copy is checked and used.
            ReadOnlySpan<byte> d = table.Slice((int)i * VringDesc.Size, VringDesc.Size);
            ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
            ulong rest = BinaryPrimitives.ReadUInt64LittleEndian(d.Slice(8, 8));
            uint len = (uint)rest;

            // The one bounds check of each buffer, overflow-proof (GuestMemory.IsValidRange).
            if (addr >= limit || len > limit - addr)
            {
                fault = OutOfBounds((int)i, addr, rest);
                return default;
            }

            // Readable buffers must all come first: a device reads its request from the
            // front of the chain and writes its answer into the back.
            uint flags = (uint)(rest >> 32);
            if ((flags & VringDesc.FlagWrite) != 0)
            {
                writable++;
            }
            else if (writable != 0)
            {
                fault = ReadableAfterWritable((int)i);
                return default;
            }

            // More descriptors than the table holds can only mean a loop.
            if ((uint)count >= (uint)scratch.Length)
            {
                fault = ChainTooLong(head);
                return default;
            }

            scratch[count] = new GuestBuffer(addr, len);
            count++;

            if ((flags & VringDesc.FlagNext) == 0)
            {
                readable = count - writable;
                fault = null;
                return scratch[..count];
            }

            uint next = (uint)(rest >> 48);
            if (next >= (uint)scratch.Length)
            {
                fault = NextOutOfRange((int)i, (ushort)next);
                return default;
            }

            i = next;
        }
    }

    /// <summary>
    /// Returns chain <paramref name="head"/> to the guest with <paramref name="length"/>
    /// bytes written into it.
    /// </summary>
    /// <remarks>lguest.c <c>add_used()</c>.</remarks>
    public void AddUsed(ushort head, uint length) => OpenRing().AddUsed(head, length);

    /// <summary><see cref="AddUsed(ushort, uint)"/> on the ring's span.</summary>
    internal void AddUsedToRing(Span<byte> ring, ushort head, uint length)
    {
        Span<byte> idxField = ring.Slice(_usedIdxOffset, 2);
        ushort usedIdx = BinaryPrimitives.ReadUInt16LittleEndian(idxField);
        int slot = usedIdx & _mask;

        // struct vring_used_elem { u32 id; u32 len; }, written as one little-endian word.
        BinaryPrimitives.WriteUInt64LittleEndian(
            ring.Slice(_usedRingOffset + (VringUsedElem.Size * slot), VringUsedElem.Size),
            head | ((ulong)length << 32));

        // ORDERING: the element must be visible before the index that publishes it.
        Volatile.WriteBarrier();
        BinaryPrimitives.WriteUInt16LittleEndian(idxField, (ushort)(usedIdx + 1));
    }

    /// <summary>
    /// Whether completing a buffer should interrupt the guest: not when it has set
    /// <c>VRING_AVAIL_F_NO_INTERRUPT</c> (advisory, spec §4.7).
    /// </summary>
    /// <remarks>The test at the top of lguest.c <c>trigger_irq()</c>.</remarks>
    public bool ShouldInterrupt() =>
        (BinaryPrimitives.ReadUInt16LittleEndian(RingFlags(_layout.AvailOffset)) & VringRingHeader.AvailNoInterrupt) == 0;

    /// <summary>Whether the guest need not kick (<c>VRING_USED_F_NO_NOTIFY</c> set in used.flags).</summary>
    public bool NoNotify =>
        (BinaryPrimitives.ReadUInt16LittleEndian(RingFlags(_layout.UsedOffset)) & VringRingHeader.UsedNoNotify) != 0;

    /// <summary>
    /// Device reset of this queue: zero the whole ring, flags included, and forget what was
    /// taken. NO_NOTIFY is not restored (spec §4.8, §5.4).
    /// </summary>
    /// <remarks>The per-queue part of lguest.c <c>reset_device()</c>.</remarks>
    public void Reset()
    {
        RingSpan().Clear();
        _lastAvailIdx = 0;
    }

    private void SetUsedFlags(ushort flags)
    {
        Span<byte> used = RingFlags(_layout.UsedOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(used, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(used) | flags));
    }

    // Each fault is made out of line, so that the hot loop carries no formatting code and
    // the JIT treats each exit as cold (no spills on every descriptor).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException AvailJump(ushort availIdx) =>
        new(GuestFault.AvailIndexJump, $"queue pfn 0x{Config.Pfn:x}: guest moved avail index from {_lastAvailIdx} to {availIdx}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException HeadOutOfRange(ushort head) =>
        new(GuestFault.HeadIndexOutOfRange, $"queue pfn 0x{Config.Pfn:x}: guest says index {head} is available (num {Config.Num})");

    // Takes the descriptor's second word rather than its length, so that the hot loop need
    // not keep the length anywhere the cold path can find it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException OutOfBounds(int index, ulong addr, ulong lenFlagsNext) =>
        new(GuestFault.BufferOutOfBounds, $"queue pfn 0x{Config.Pfn:x}: descriptor {index} address 0x{addr:x} length 0x{(uint)lenFlagsNext:x} is outside guest memory (limit 0x{_memory.Limit:x})");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException ReadableAfterWritable(int index) =>
        new(GuestFault.ReadableAfterWritable, $"queue pfn 0x{Config.Pfn:x}: descriptor {index} is readable after a writable one");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException ChainTooLong(ushort head) =>
        new(GuestFault.ChainTooLong, $"queue pfn 0x{Config.Pfn:x}: chain from head {head} is longer than {Config.Num} (looped descriptor chain)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private GuestFaultException NextOutOfRange(int index, ushort next) =>
        new(GuestFault.NextIndexOutOfRange, $"queue pfn 0x{Config.Pfn:x}: descriptor {index} has next {next} (num {Config.Num})");
}
