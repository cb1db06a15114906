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

    /// <summary>Lays out the console's record (2 queues, no features, no config) and creates the device.</summary>
    public static ConsoleDevice Create(DevicePage page, IConsolePort port, TimeProvider? clock = null)
    {
        DeviceRecord record = page.AddDevice(VirtioDeviceType.Console, "console");
        record.AddVirtqueue();
        record.AddVirtqueue();
        return new ConsoleDevice(record, port, clock ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public override void HandleNotify(Virtqueue queue, IDeviceContext context)
    {
        if (queue == InputQueue)
        {
            // A kick of the input queue means "I gave you a buffer": listen on stdin again.
            // After input failed for good the handler is gone, so the kick does nothing.
            if (!_inputDead)
            {
                context.EnableInput(this);
            }

            return;
        }

        VirtqueueRing ring = OutputQueue.OpenRing();
        while (ring.TryPop(out DescriptorChain chain))
        {
            if (chain.WritableCount != 0)
            {
                ThrowHelper.ThrowGuestFault(GuestFault.ConsoleOutputWritable, $"console output chain {chain.Head} has {chain.WritableCount} writable buffers");
            }

            int written = _port.Write(context.Memory, chain.Readable);

            // The original stores the raw writev() result, so a failed write (-1) is used
            // length 0xffffffff. Ports report failures as a negative errno, not -1, so map
            // every failure to the value the guest would have seen.
            ring.AddUsed(chain.Head, written < 0 ? uint.MaxValue : (uint)written);
            context.TriggerIrq(OutputQueue);
        }
    }

    /// <inheritdoc/>
    public override bool HandleInput(IDeviceContext context)
    {
        if (_inputDead)
        {
            return false;
        }

        if (!InputQueue.TryPop(out DescriptorChain chain))
        {
            // No buffer from the guest: stop listening until it kicks the input queue.
            return false;
        }

        if (chain.ReadableCount != 0)
        {
            ThrowHelper.ThrowGuestFault(GuestFault.ConsoleInputReadable, $"console input chain {chain.Head} has {chain.ReadableCount} readable buffers");
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
            context.TriggerIrq(InputQueue);
            return false;
        }

        InputQueue.AddUsed(head, (uint)read);
        context.TriggerIrq(InputQueue);
        CountAbort(read, firstByte, context);
        return true;
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
            if (now <= _abortStartSeconds + 1)
            {
                context.RequestExit(2, "three Ctrl-C within a second");
                return;
            }

            _abortCount = 0;
        }
    }
}
