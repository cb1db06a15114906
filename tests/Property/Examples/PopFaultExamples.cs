using LguestSim.Engine;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using LguestSim.Tests.Property.Infrastructure;
using Xunit;

namespace LguestSim.Tests.Property.Examples;

/// <summary>
/// One fixed input per fatal condition of spec §4.5 (asserting the fault code), plus the
/// edges the spec leaves to a decision. Ring: num 8 at 0x1000, guest_limit 0x10000.
/// </summary>
public class PopFaultExamples
{
    private const ushort Num = 8;
    private const ulong Limit = 0x10000;
    private const ushort Next = VringDesc.FlagNext;
    private const ushort Write = VringDesc.FlagWrite;

    private static TestRing NewRing(bool hasHandler = true) => TestRing.Create(Num, Limit + 0x1000, Limit, pfn: 1, hasHandler);

    private static void AssertFault(GuestFault expected, TestRing ring)
    {
        PopOutcome outcome = ring.Pop();
        Assert.Equal(PopKind.Fault, outcome.Kind);
        Assert.Equal(expected, outcome.Fault);
        Assert.Empty(ring.Memory.Violations);
    }

    private static PopOutcome AssertChain(TestRing ring)
    {
        PopOutcome outcome = ring.Pop();
        Assert.True(outcome.Kind == PopKind.Chain, outcome.ToString());
        Assert.Empty(ring.Memory.Violations);
        return outcome;
    }

    /// <summary>Offers one chain whose only descriptor 0 is <paramref name="addr"/>/<paramref name="len"/>.</summary>
    private static TestRing OneBuffer(ulong addr, uint len)
    {
        TestRing ring = NewRing();
        ring.SetDesc(0, addr, len, 0, 0);
        ring.Offer(0);
        return ring;
    }

    [Fact]
    public void Pop_AvailIndexMovedMoreThanNum_FaultsAvailIndexJump()
    {
        TestRing ring = NewRing();
        ring.AvailIdx = Num + 1;
        AssertFault(GuestFault.AvailIndexJump, ring);
        Assert.Equal(0, ring.Queue.LastAvailIndex);
    }

    [Fact]
    public void Pop_AvailIndexMovedBackwards_FaultsAvailIndexJump()
    {
        TestRing ring = NewRing();
        ring.AdvanceLastAvail(3);
        ring.AvailIdx = 2; // (u16)(2 - 3) = 65535 new entries
        AssertFault(GuestFault.AvailIndexJump, ring);
    }

    [Fact]
    public void Pop_ExactlyNumAvailableAcrossWrap_IsNotAJump()
    {
        TestRing ring = NewRing();
        ring.AdvanceLastAvail(65532);
        ring.SetDesc(0, 0x2000, 4, 0, 0);
        ring.AvailIdx = unchecked((ushort)(65532 + Num));
        for (int i = 0; i < Num; i++)
        {
            Assert.Equal(0, AssertChain(ring).Head);
        }

        Assert.Equal(PopKind.Empty, ring.Pop().Kind);
        Assert.Equal(4, ring.Queue.LastAvailIndex);
    }

    [Theory]
    [InlineData(Num)]
    [InlineData(0xFFFF)]
    public void Pop_HeadBeyondQueueSize_Faults(ushort head)
    {
        TestRing ring = NewRing();
        ring.Offer(head);
        AssertFault(GuestFault.HeadIndexOutOfRange, ring);
    }

    [Fact]
    public void Pop_BufferStartsAtLimit_FaultsEvenWithZeroLength() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(Limit, 0));

    [Fact]
    public void Pop_BufferStartsBeyondLimit_Faults() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(Limit + 0x1000, 16));

    [Fact]
    public void Pop_BufferRunsPastLimit_Faults() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(Limit - 16, 17));

    /// <summary>0x1000 + 0xFFFFF000 is 0 in 32 bits: the original's check let this through (spec §4.5 QUIRK).</summary>
    [Fact]
    public void Pop_LengthWrapping32Bits_Faults() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(0x1000, 0xFFFF_F000));

    /// <summary>Truncated to 32 bits this is 0x2000, well inside guest memory; it must not be.</summary>
    [Fact]
    public void Pop_AddressAbove4GiB_Faults() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(0x1_0000_2000, 16));

    [Fact]
    public void Pop_AddressNearUInt64Max_Faults() => AssertFault(GuestFault.BufferOutOfBounds, OneBuffer(ulong.MaxValue - 8, 16));

    [Fact]
    public void Pop_ReadableAfterWritable_Faults()
    {
        TestRing ring = NewRing();
        ring.SetDesc(0, 0x2000, 16, Write | Next, 1);
        ring.SetDesc(1, 0x3000, 16, 0, 0);
        ring.Offer(0);
        AssertFault(GuestFault.ReadableAfterWritable, ring);
    }

    [Fact]
    public void Pop_SelfLoop_FaultsChainTooLong()
    {
        TestRing ring = NewRing();
        ring.SetDesc(3, 0x2000, 16, Next, 3);
        ring.Offer(3);
        AssertFault(GuestFault.ChainTooLong, ring);
    }

    [Fact]
    public void Pop_TwoCycle_FaultsChainTooLong()
    {
        TestRing ring = NewRing();
        ring.SetDesc(0, 0x2000, 16, Next, 1);
        ring.SetDesc(1, 0x3000, 16, Next, 0);
        ring.Offer(1);
        AssertFault(GuestFault.ChainTooLong, ring);
    }

    [Fact]
    public void Pop_WritableLoop_FaultsChainTooLong()
    {
        TestRing ring = NewRing();
        ring.SetDesc(5, 0x2000, 16, Write | Next, 5);
        ring.Offer(5);
        AssertFault(GuestFault.ChainTooLong, ring);
    }

    [Theory]
    [InlineData(Num)]
    [InlineData(0xFFFF)]
    public void Pop_NextBeyondQueueSize_Faults(ushort next)
    {
        TestRing ring = NewRing();
        ring.SetDesc(0, 0x2000, 16, Next, next);
        ring.Offer(0);
        AssertFault(GuestFault.NextIndexOutOfRange, ring);
    }

    [Fact]
    public void Pop_NextIgnoredWithoutNextFlag()
    {
        TestRing ring = NewRing();
        ring.SetDesc(0, 0x2000, 16, Write, 0xFFFF);
        ring.Offer(0);
        Assert.Single(AssertChain(ring).Buffers);
    }

    [Theory]
    [InlineData(9, 2, "bad size")]
    [InlineData(11, 2, "bad size")]
    [InlineData(10, 3, "odd address for align 2")]
    public void TypedBuffer_NetHeaderWrongSizeOrAlignment_FaultsBadTypedBuffer(uint length, ulong address, string why)
    {
        GuestFaultException e = Assert.IsType<GuestFaultException>(TypedBuffer.Validate(new GuestBuffer(address, length), VirtioNetHdr.Size, VirtioNetHdr.Alignment, "virtio_net_hdr"));
        Assert.True(e.Fault == GuestFault.BadTypedBuffer, why);
    }

    [Theory]
    [InlineData(16, 0x1002)]
    [InlineData(15, 0x1000)]
    [InlineData(17, 0x1004)]
    public void TypedBuffer_BlockHeaderWrongSizeOrAlignment_FaultsBadTypedBuffer(uint length, ulong address)
    {
        GuestFaultException e = Assert.IsType<GuestFaultException>(TypedBuffer.Validate(new GuestBuffer(address, length), VirtioBlkOutHdr.Size, VirtioBlkOutHdr.Alignment, "virtio_blk_outhdr"));
        Assert.Equal(GuestFault.BadTypedBuffer, e.Fault);
    }

    [Fact]
    public void TypedBuffer_ExactSizeAndAlignment_Passes()
    {
        Assert.Null(TypedBuffer.Validate(new GuestBuffer(0x1002, 10), VirtioNetHdr.Size, VirtioNetHdr.Alignment, "virtio_net_hdr"));
        Assert.Null(TypedBuffer.Validate(new GuestBuffer(0x1004, 16), VirtioBlkOutHdr.Size, VirtioBlkOutHdr.Alignment, "virtio_blk_outhdr"));
        Assert.Null(TypedBuffer.Validate(new GuestBuffer(0x1003, 1), 1, 1, "status"));
    }

    /// <summary>Documented decision (GuestMemory remarks): the original's strict <c>&lt;</c> is not kept.</summary>
    [Fact]
    public void Pop_BufferEndingExactlyAtLimit_IsAccepted()
    {
        PopOutcome chain = AssertChain(OneBuffer(Limit - 16, 16));
        Assert.Equal(new GuestBuffer(Limit - 16, 16), chain.Buffers[0]);
    }

    /// <summary><c>DescriptorChain.GetSpan</c> is exactly the buffer's bytes, up to the last byte below the limit.</summary>
    [Fact]
    public void GetSpan_BufferEndingAtLimit_IsExactlyItsBytes()
    {
        TestRing ring = OneBuffer(Limit - 16, 16);
        Assert.True(ring.Queue.TryPop(out DescriptorChain chain));
        Span<byte> bytes = chain.GetSpan(0);
        Assert.Equal(16, bytes.Length);
        bytes.Fill(0xA5);

        Assert.Equal("A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5", Convert.ToHexString(ring.Memory.Bytes, (int)(Limit - 16), 16));
        Assert.Equal(0, ring.Memory.Bytes[(int)Limit]);
        Assert.Empty(ring.Memory.Violations);
    }

    /// <summary>Past the chain's last buffer (a ref struct cannot go into a lambda, hence the flag).</summary>
    [Fact]
    public void GetSpan_IndexPastTheChain_Throws()
    {
        TestRing ring = OneBuffer(0x2000, 4);
        Assert.True(ring.Queue.TryPop(out DescriptorChain chain));
        bool threw = false;
        try
        {
            chain.GetSpan(1);
        }
        catch (IndexOutOfRangeException)
        {
            threw = true;
        }

        Assert.True(threw, "GetSpan(1) on a one-buffer chain");

        // A chain that was never popped has no buffers at all.
        Assert.Throws<IndexOutOfRangeException>(() => default(DescriptorChain).GetSpan(0));
    }

    [Fact]
    public void Pop_WholeMemoryAsOneBuffer_IsAccepted() => Assert.Equal((uint)Limit, AssertChain(OneBuffer(0, (uint)Limit)).Buffers[0].Length);

    [Fact]
    public void Pop_ZeroLengthDescriptor_IsAccepted()
    {
        PopOutcome chain = AssertChain(OneBuffer(0x2000, 0));
        Assert.Equal(new GuestBuffer(0x2000, 0), chain.Buffers[0]);
        Assert.Equal(1, chain.ReadableCount);
    }

    [Fact]
    public void Pop_ChainOfExactlyNumDescriptors_IsAccepted()
    {
        TestRing ring = NewRing();
        for (int i = 0; i < Num; i++)
        {
            bool last = i == Num - 1;
            ushort flags = (ushort)((i >= 3 ? Write : 0) | (last ? 0 : Next));
            ring.SetDesc(i, 0x2000 + (0x100 * (ulong)i), 0x10, flags, (ushort)(last ? 0 : i + 1));
        }

        ring.Offer(0);
        PopOutcome chain = AssertChain(ring);
        Assert.Equal(Num, chain.Buffers.Count);
        Assert.Equal(3, chain.ReadableCount);
        Assert.Equal(5, chain.WritableCount);
        Assert.Equal(5UL * 0x10, chain.WritableBytes);
    }

    [Fact]
    public void Pop_EmptyRing_ReturnsFalseAndKeepsLastAvail()
    {
        TestRing ring = NewRing();
        Assert.Equal(PopKind.Empty, ring.Pop().Kind);
        Assert.Equal(0, ring.Queue.LastAvailIndex);
    }

    [Fact]
    public void Create_WithoutHandler_SetsNoNotifyWhichResetClears()
    {
        TestRing withHandler = NewRing(hasHandler: true);
        Assert.False(withHandler.Queue.NoNotify);
        Assert.Equal(0, withHandler.UsedFlags);

        TestRing noHandler = NewRing(hasHandler: false);
        Assert.True(noHandler.Queue.NoNotify);
        Assert.Equal(VringRingHeader.UsedNoNotify, noHandler.UsedFlags);
        noHandler.Queue.Reset();
        Assert.False(noHandler.Queue.NoNotify);
        Assert.Equal(0, noHandler.UsedFlags);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 5)]
    [InlineData(0xFFFF, 7)]
    public void AddUsed_WritesElementAtUsedIdxModNumAndBumpsIdx(ushort usedIdx, int slot)
    {
        TestRing ring = NewRing();
        ring.UsedIdx = usedIdx;
        ring.Queue.AddUsed(6, 0xDEADBEEF);
        Assert.Equal((6u, 0xDEADBEEFu), ring.UsedElem(slot));
        Assert.Equal(unchecked((ushort)(usedIdx + 1)), ring.UsedIdx);
        for (int other = 0; other < Num; other++)
        {
            Assert.True(other == slot || ring.UsedElem(other) == (0u, 0u), $"slot {other} was written");
        }
    }

    [Fact]
    public void ShouldInterrupt_FollowsNoInterruptFlagOnly()
    {
        TestRing ring = NewRing();
        Assert.True(ring.Queue.ShouldInterrupt());
        ring.AvailFlags = VringRingHeader.AvailNoInterrupt;
        Assert.False(ring.Queue.ShouldInterrupt());
        ring.AvailFlags = 0xFFFE;
        Assert.True(ring.Queue.ShouldInterrupt());
    }
}
