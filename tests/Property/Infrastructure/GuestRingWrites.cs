using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>
/// The guest's side of an engine queue's ring, as the harnesses that drive a device directly
/// play it: write a descriptor, publish a head, read <c>used.idx</c>.
/// </summary>
internal static class GuestRingWrites
{
    /// <summary>Writes descriptor <paramref name="index"/> of <paramref name="queue"/>.</summary>
    public static void SetDesc(GuestMemory memory, Virtqueue queue, ushort index, ulong addr, uint len, ushort flags, ushort next = 0) =>
        new VringDesc(addr, len, flags, next).Write(memory.GetSpan(queue.RingAddress + ((ulong)index * VringDesc.Size), VringDesc.Size));

    /// <summary>Puts <paramref name="head"/> in the avail ring and bumps <c>avail.idx</c>.</summary>
    public static void Publish(GuestMemory memory, Virtqueue queue, ushort head)
    {
        ulong avail = queue.RingAddress + (ulong)queue.Layout.AvailOffset;
        ushort idx = memory.ReadU16(avail + 2);
        memory.WriteU16(avail + 4 + (2UL * (ulong)(idx % queue.Config.Num)), head);
        memory.WriteU16(avail + 2, (ushort)(idx + 1));
    }

    /// <summary><c>used.idx</c> of <paramref name="queue"/>.</summary>
    public static ushort UsedIdx(GuestMemory memory, Virtqueue queue) => memory.ReadU16(queue.RingAddress + (ulong)queue.Layout.UsedOffset + 2);
}
