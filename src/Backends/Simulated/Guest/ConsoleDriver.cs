using System.Text;
using LguestSim.Engine.Abi;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.Guest;

/// <summary>
/// The 2.6.25 virtio console driver with the hvc layer on top: one 4096-byte input buffer
/// outstanding, output written one buffer at a time and waited for.
/// </summary>
/// <remarks>Spec §8.5 "Console". Both queues are created without callbacks, so NO_INTERRUPT is set and the guest polls.</remarks>
public sealed class ConsoleDriver
{
    private const int InputSize = 4096;
    private readonly GuestContext _guest;
    private readonly BusDevice _device;
    private readonly List<byte> _received = new();
    private GuestDriverQueue _in = null!;
    private GuestDriverQueue _out = null!;
    private ulong _inBuffer;

    /// <summary>Binds the driver to <paramref name="device"/>; <see cref="Probe"/> sets it up.</summary>
    public ConsoleDriver(GuestContext guest, BusDevice device)
    {
        _guest = guest;
        _device = device;
    }

    /// <summary>Probe: allocate the input buffer, find both queues, offer the input buffer.</summary>
    public void Probe()
    {
        _inBuffer = _guest.Heap.Allocate(InputSize);
        _in = _device.FindVq(0, null);
        _out = _device.FindVq(1, null);
        AddInputBuffer();
    }

    /// <summary>Writes <paramref name="data"/> to the console and waits for the buffer to come back.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        ulong buffer = _guest.Heap.Allocate((ulong)data.Length);
        _guest.Memory.Write(buffer, data);
        Span<GuestBuffer> sg = [new GuestBuffer(buffer, (uint)data.Length)];
        _guest.Transcript.Line($"guest: console write {T.Quote(data)}");
        if (_out.TryAddBuf(sg, [], buffer) < 0)
        {
            // The real driver drops the data and still reports it written.
            _guest.Transcript.Line("guest: console output queue full; data dropped");
            _guest.Heap.Free(buffer);
            return;
        }

        _out.Kick();

        // hvc spins on get_buf; the Launcher completes output during the notify.
        object? token = null;
        uint length = 0;
        ushort head = 0;
        _guest.WaitUntil(_device, () => _out.TryGetBuf(out token, out length, out head));
        _guest.Transcript.Line($"guest: console out used head={head} len={length}");
        _guest.Heap.Free((ulong)token!);
    }

    /// <summary>Waits until <paramref name="expected"/> has arrived on the console input, and consumes it.</summary>
    public void Expect(ReadOnlySpan<byte> expected)
    {
        byte[] want = expected.ToArray();
        int found = -1;
        _guest.WaitUntil(_device, () =>
        {
            Poll();
            found = IndexOf(want);
            return found >= 0;
        });
        _guest.Transcript.Line($"guest: console got {T.Quote(want)}");
        _received.RemoveRange(0, found + want.Length);
    }

    /// <summary>Collects input the Launcher delivered, re-offering the buffer each time (hvc's poll).</summary>
    public void Poll()
    {
        while (_in.TryGetBuf(out _, out uint length, out ushort head))
        {
            byte[] data = new byte[Math.Min(length, InputSize)];
            _guest.Memory.Read(_inBuffer, data);
            _guest.Transcript.Line($"guest: console in used head={head} len={length} {T.Quote(data)}");
            _received.AddRange(data);
            AddInputBuffer();
        }
    }

    private void AddInputBuffer()
    {
        Span<GuestBuffer> sg = [new GuestBuffer(_inBuffer, InputSize)];
        _in.TryAddBuf([], sg, _inBuffer);
        _in.Kick();
    }

    private int IndexOf(byte[] want)
    {
        for (int i = 0; i + want.Length <= _received.Count; i++)
        {
            bool match = true;
            for (int k = 0; k < want.Length && match; k++)
            {
                match = _received[i + k] == want[k];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
