using LguestSim.Engine;
using LguestSim.Engine.Abi;
using Xunit;

namespace LguestSim.Tests.Property.Devices.ConsoleTests;

/// <summary>
/// The console's input and output paths (spec §5.1) and its fatal conditions (spec §9,
/// "Console"), one fixed input each, asserting on the fault code.
/// </summary>
public class ConsoleDeviceTests
{
    private const ushort Write = VringDesc.FlagWrite;
    private const ushort Next = VringDesc.FlagNext;

    [Fact]
    public void InputChainWithAReadableBuffer_FaultsConsoleInputReadable()
    {
        var h = new ConsoleHarness();
        h.Offer(h.Device.InputQueue, 0, ConsoleHarness.InputBuffer, 16, 0);
        h.Port.Reads.Enqueue("abc"u8.ToArray());
        GuestFaultException e = Assert.IsType<GuestFaultException>(h.Device.HandleInput(h.Context, out _));
        Assert.Equal(GuestFault.ConsoleInputReadable, e.Fault);
        Assert.Single(h.Port.Reads); // nothing was read from the host
    }

    [Fact]
    public void InputChainReadableThenWritable_FaultsConsoleInputReadable()
    {
        var h = new ConsoleHarness();
        h.SetDesc(h.Device.InputQueue, 1, ConsoleHarness.InputBuffer + 0x100, 8, Next, 2);
        h.SetDesc(h.Device.InputQueue, 2, ConsoleHarness.InputBuffer, 16, Write);
        h.Publish(h.Device.InputQueue, 1);
        GuestFaultException e = Assert.IsType<GuestFaultException>(h.Device.HandleInput(h.Context, out _));
        Assert.Equal(GuestFault.ConsoleInputReadable, e.Fault);
    }

    [Fact]
    public void OutputChainWithAWritableBuffer_FaultsConsoleOutputWritable()
    {
        var h = new ConsoleHarness();
        h.Offer(h.Device.OutputQueue, 0, ConsoleHarness.OutputBuffer, 16, Write);
        GuestFaultException e = Assert.IsType<GuestFaultException>(h.Device.HandleNotify(h.Device.OutputQueue, h.Context));
        Assert.Equal(GuestFault.ConsoleOutputWritable, e.Fault);
        Assert.Empty(h.Port.Written);
    }

    [Fact]
    public void OutputChainReadableThenWritable_FaultsConsoleOutputWritable()
    {
        var h = new ConsoleHarness();
        h.SetDesc(h.Device.OutputQueue, 0, ConsoleHarness.OutputBuffer, 4, Next, 1);
        h.SetDesc(h.Device.OutputQueue, 1, ConsoleHarness.OutputBuffer + 0x100, 4, Write);
        h.Publish(h.Device.OutputQueue, 0);
        GuestFaultException e = Assert.IsType<GuestFaultException>(h.Device.HandleNotify(h.Device.OutputQueue, h.Context));
        Assert.Equal(GuestFault.ConsoleOutputWritable, e.Fault);
    }

    [Fact]
    public void Output_GathersEveryReadableBufferInOneWrite_UsedLengthIsTheResult()
    {
        var h = new ConsoleHarness();
        h.Memory.Write(ConsoleHarness.OutputBuffer, "hello, "u8);
        h.Memory.Write(ConsoleHarness.OutputBuffer + 0x100, "world\n"u8);
        h.SetDesc(h.Device.OutputQueue, 3, ConsoleHarness.OutputBuffer, 7, Next, 4);
        h.SetDesc(h.Device.OutputQueue, 4, ConsoleHarness.OutputBuffer + 0x100, 6, 0);
        h.Publish(h.Device.OutputQueue, 3);
        h.Port.WriteResult = 5; // a short write is passed on as it is
        Assert.Null(h.Device.HandleNotify(h.Device.OutputQueue, h.Context));
        Assert.Equal("hello, world\n", System.Text.Encoding.ASCII.GetString(Assert.Single(h.Port.Written)));
        Assert.Equal((3u, 5u), h.UsedElem(h.Device.OutputQueue, 0));
        Assert.Contains(h.Device.OutputQueue, h.Context.Interrupts);
    }

    [Fact]
    public void Output_ServesEveryChainOfOneKick()
    {
        var h = new ConsoleHarness();
        h.Offer(h.Device.OutputQueue, 0, ConsoleHarness.OutputBuffer, 3, 0);
        h.Offer(h.Device.OutputQueue, 1, ConsoleHarness.OutputBuffer, 2, 0);
        Assert.Null(h.Device.HandleNotify(h.Device.OutputQueue, h.Context));
        Assert.Equal(2, h.Port.Written.Count);
        Assert.Equal(2, h.UsedIdx(h.Device.OutputQueue));
    }

    [Fact]
    public void Output_FailedWrite_UsedLengthIsAllOnes()
    {
        var h = new ConsoleHarness();
        h.Offer(h.Device.OutputQueue, 0, ConsoleHarness.OutputBuffer, 3, 0);
        h.Port.WriteResult = -5; // -EIO
        Assert.Null(h.Device.HandleNotify(h.Device.OutputQueue, h.Context));
        Assert.Equal((0u, 0xffff_ffffu), h.UsedElem(h.Device.OutputQueue, 0));
    }

    [Fact]
    public void Input_OneScatterReadIntoTheBuffers_UsedLengthIsBytesRead()
    {
        var h = new ConsoleHarness();
        h.SetDesc(h.Device.InputQueue, 5, ConsoleHarness.InputBuffer, 2, Write | Next, 6);
        h.SetDesc(h.Device.InputQueue, 6, ConsoleHarness.InputBuffer + 0x100, 8, Write);
        h.Publish(h.Device.InputQueue, 5);
        h.Port.Reads.Enqueue("abcd"u8.ToArray());
        Assert.True(h.Input());
        Assert.Equal((5u, 4u), h.UsedElem(h.Device.InputQueue, 0));
        Assert.Equal("ab"u8.ToArray(), h.Memory.GetSpan(ConsoleHarness.InputBuffer, 2).ToArray());
        Assert.Equal("cd"u8.ToArray(), h.Memory.GetSpan(ConsoleHarness.InputBuffer + 0x100, 2).ToArray());
        Assert.Empty(h.Context.Warnings);
    }

    [Fact]
    public void Input_NoBufferFromTheGuest_StopsListeningUntilTheInputQueueIsKicked()
    {
        var h = new ConsoleHarness();
        h.Port.Reads.Enqueue("x"u8.ToArray());
        Assert.False(h.Input());
        Assert.Single(h.Port.Reads); // not read: it waits for a buffer
        Assert.NotNull(h.Device.Input);

        Assert.Null(h.Device.HandleNotify(h.Device.InputQueue, h.Context));
        Assert.Equal(1, h.Context.EnableInputCalls);
    }

    [Theory]
    [InlineData(0, "console: input reached end of file; ignoring it from now on")]
    [InlineData(-5, "console: reading input failed (errno 5); ignoring it from now on")]
    public void Input_EndOfFileOrError_WarnsRestoresAndTurnsInputOffForGood(int result, string warning)
    {
        var h = new ConsoleHarness();
        h.OfferInput();
        h.Port.Reads.Enqueue(result);
        Assert.False(h.Input());

        Assert.Equal([warning], h.Context.Warnings);

        // The empty chain is returned like any other: the guest is interrupted for it.
        Assert.Equal([h.Device.InputQueue], h.Context.Interrupts);
        Assert.Equal(1, h.Port.InputFailures);
        Assert.True(h.Device.InputDead);
        Assert.Null(h.Device.Input);

        // Decision (README): the taken chain goes back to the guest empty instead of leaking.
        Assert.Equal(1, h.UsedIdx(h.Device.InputQueue));
        Assert.Equal((0u, 0u), h.UsedElem(h.Device.InputQueue, 0));

        // Later kicks do nothing, and input is never read again.
        Assert.Null(h.Device.HandleNotify(h.Device.InputQueue, h.Context));
        Assert.Equal(0, h.Context.EnableInputCalls);
        h.OfferInput();
        h.Port.Reads.Enqueue("late"u8.ToArray());
        Assert.False(h.Input());
        Assert.Single(h.Port.Reads);
        Assert.Null(h.Context.ExitStatus);
    }
}
