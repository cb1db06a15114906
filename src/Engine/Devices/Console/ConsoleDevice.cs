using LguestSim.Engine.Abi;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Virtio;

namespace LguestSim.Engine.Devices.Console;

/// <summary>
/// The virtio console (type 3): queue 0 carries keyboard input into guest buffers, queue 1
/// carries guest output to the Launcher's stdout.
/// </summary>
/// <remarks>Spec §5.1; lguest.c <c>setup_console()</c>, <c>handle_console_input()</c>, <c>handle_console_output()</c>.</remarks>
public sealed class ConsoleDevice : VirtioDevice
{
    private readonly IConsolePort _port;
    private readonly TimeProvider _clock;
    private bool _inputDead;
    private int _abortCount;
    private long _abortStartSeconds;

    private ConsoleDevice(DeviceRecord record, IConsolePort port, TimeProvider clock)
        : base(record)
    {
        _port = port;
        _clock = clock;
    }

    /// <summary>The input queue (vq0).</summary>
    public Virtqueue InputQueue => Record.Queues[0];

    /// <summary>The output queue (vq1).</summary>
    public Virtqueue OutputQueue => Record.Queues[1];

    /// <summary>Whether console input has failed for good (EOF or error on stdin).</summary>
    public bool InputDead => _inputDead;

    /// <inheritdoc/>
    public override InputSource? Input => _inputDead ? null : _port.Input;

    /// <summary>
    /// Input that ended for good (<see cref="InputDead"/>) is served again, as at start-up. For
    /// a harness that reuses a machine after a run in which the guest's console input ended (the
    /// fuzzer: a zero-length input buffer reads 0 bytes, which is end of file); a Launcher never
    /// does this, as lguest dropped the console's input handler for good. Run loop only; the
    /// harness listens to <see cref="Input"/> again.
    /// </summary>
    public void ReopenInput()
    {
        _inputDead = false;
        _abortCount = 0;
    }

    /// <summary>Lays out the console's record (2 queues, no features, no config) and creates the device.</summary>
    public static ConsoleDevice Create(DevicePage page, IConsolePort port, TimeProvider? clock = null)
    {
        DeviceRecord record = page.AddDevice(VirtioDeviceType.Console, "console");
        record.AddVirtqueue();
        record.AddVirtqueue();
        return new ConsoleDevice(record, port, clock ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public override GuestFaultException? HandleNotify(Virtqueue queue, IDeviceContext context)
    {
        if (queue == InputQueue)
        {
            // A kick of the input queue means "I gave you a buffer": listen on stdin again.
            // After input failed for good the handler is gone, so the kick does nothing.
            if (!_inputDead)
            {
                context.EnableInput(this);
            }

            return null;
        }

        VirtqueueRing ring = OutputQueue.OpenRing();
        GuestFaultException? fault;
        while (ring.TryPop(out DescriptorChain chain, out fault))
        {
            if (chain.WritableCount != 0)
            {
                return new GuestFaultException(GuestFault.ConsoleOutputWritable, $"console output chain {chain.Head} has {chain.WritableCount} writable buffers");
            }

            int written = _port.Write(context.Memory, chain.Readable);

            // The original stores the raw writev() result, so a failed write (-1) is used
            // length 0xffffffff. Ports report failures as a negative errno, not -1, so map
            // every failure to the value the guest would have seen.
            ring.AddUsed(chain.Head, written < 0 ? uint.MaxValue : (uint)written);
            if (context.TriggerIrq(OutputQueue) is { } rejected)
            {
                return rejected;
            }
        }

        return fault;
    }

    /// <inheritdoc/>
    public override GuestFaultException? HandleInput(IDeviceContext context, out bool keepListening)
    {
        // No buffer from the guest (or no input any more): stop listening until it kicks the
        // input queue.
        keepListening = false;
        if (_inputDead)
        {
            return null;
        }

        if (!InputQueue.TryPop(out DescriptorChain chain, out GuestFaultException? fault))
        {
            return fault;
        }

        if (chain.ReadableCount != 0)
        {
            return new GuestFaultException(GuestFault.ConsoleInputReadable, $"console input chain {chain.Head} has {chain.ReadableCount} readable buffers");
        }

        ushort head = chain.Head;
        ulong firstByte = FirstByteAddress(chain.Writable);
        int read = _port.Read(context.Memory, chain.Writable);
        if (read <= 0)
        {
            // Decision (spec §10 item 6): the original keeps the taken buffer for ever. We give
            // it back empty, so the guest's ring stays consistent; input stays off for good.
            context.Warn(read == 0 ? "console: input reached end of file; ignoring it from now on" : $"console: reading input failed (errno {-read}); ignoring it from now on");
            _port.InputFailed();
            _inputDead = true;
            InputQueue.AddUsed(head, 0);
            return context.TriggerIrq(InputQueue);
        }

        InputQueue.AddUsed(head, (uint)read);
        if (context.TriggerIrq(InputQueue) is { } rejected)
        {
            return rejected;
        }

        keepListening = true;
        CountAbort(read, firstByte, context);
        return null;
    }

    private static ulong FirstByteAddress(ReadOnlySpan<GuestBuffer> buffers)
    {
        foreach (GuestBuffer b in buffers)
        {
            if (b.Length != 0)
            {
                return b.Address;
            }
        }

        return 0;
    }

    private void CountAbort(int read, ulong firstByte, IDeviceContext context)
    {
        // Three lone ^C reads within the same or the next whole second end the Launcher:
        // the only way out once ISIG is off. The guest still got each ^C.
        if (read != 1 || context.Memory.ReadU8(firstByte) != 3)
        {
            _abortCount = 0;
            return;
        }

        long now = _clock.GetUtcNow().ToUnixTimeSeconds();
        if (_abortCount == 0)
        {
            _abortStartSeconds = now;
            _abortCount = 1;
            return;
        }

        if (++_abortCount == 3)
        {
            // The run ends when this handler returns; either way the next series starts afresh.
            if (now <= _abortStartSeconds + 1)
            {
                context.RequestExit(2, "three Ctrl-C within a second");
            }

            _abortCount = 0;
        }
    }
}
