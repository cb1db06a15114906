using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using Xunit;

namespace LguestSim.Tests.Property.Examples;

/// <summary>
/// A queue is only made over a ring that lies wholly inside guest memory: the Launcher proves it
/// once, at creation, and every later span of the ring relies on that proof.
/// </summary>
public class QueueCreationExamples
{
    private const ushort Num = 8;
    private const uint Pfn = 2;

    [Fact]
    public void RingEndingExactlyAtTheLimit_IsAccepted()
    {
        int size = new VringLayout(Num).TotalSize;
        var memory = new ManagedGuestMemory(0x10000, (Pfn * 4096UL) + (ulong)size);
        var queue = new Virtqueue(memory, new LguestVqConfig(Num, 1, Pfn));
        Assert.False(queue.TryPop(out _));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(4096UL)]
    public void RingPastTheLimit_IsRefusedAtCreation(ulong shortBy)
    {
        // One byte short is enough: the used ring's last element would lie outside.
        int size = new VringLayout(Num).TotalSize;
        var memory = new ManagedGuestMemory(0x10000, (Pfn * 4096UL) + (ulong)size - shortBy);
        GuestFaultException e = Assert.Throws<GuestFaultException>(() => new Virtqueue(memory, new LguestVqConfig(Num, 1, Pfn)));
        Assert.Equal(GuestFault.BufferOutOfBounds, e.Fault);
    }
}
