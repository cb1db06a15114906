using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Backends.Simulated.HostSide;

/// <summary>
/// An in-memory tap: frames the guest transmits wait in <see cref="TryTakeTransmitted"/>;
/// frames the scenario injects with <see cref="Inject"/> are read by the net device.
/// </summary>
public sealed class MemoryTap : ITap
{
    private const int EthernetHeaderSize = 14;
    private const int Einval = 22;
    private const int Emsgsize = 90;

    /// <summary>The longest frame the in-memory tap takes: 64 KiB (Ethernet header and the largest IP packet fit).</summary>
    public const int MaxFrame = 65536;

    /// <summary>Frames kept for the host side before further ones are dropped (a tap's default txqueuelen).</summary>
    public const int MaxQueued = 1000;
    private readonly object _gate = new();
    private readonly Queue<byte[]> _toGuest = new();
    private readonly Queue<byte[]> _fromGuest = new();
    private readonly byte[] _mac;
    private readonly QueueInputSource _source;
    private HostIpResponder? _responder;
    private int? _failNextRead;

    /// <summary>Creates the tap with hardware address <paramref name="mac"/>.</summary>
    public MemoryTap(ReadOnlySpan<byte> mac)
    {
        _mac = mac.ToArray();
        _source = new QueueInputSource(() =>
        {
            lock (_gate)
            {
                return _toGuest.Count > 0 || _failNextRead.HasValue;
            }
        });
    }

    /// <summary>
    /// Lets the host side own IPv4 address <paramref name="address"/> (the scenario's
    /// <c>net host-ip=</c>): frames the guest sends to it are answered by a
    /// <see cref="HostIpResponder"/> instead of waiting for <c>host.net.expect</c>.
    /// </summary>
    public void AnswerAs(uint address, byte[] hostMac, Transcript.Transcript transcript) =>
        _responder = new HostIpResponder(address, hostMac, transcript, Inject);

    /// <summary>
    /// Makes the next read return <paramref name="result"/> (0, or a negative errno) instead
    /// of a frame, and the tap readable so that the Launcher reads: a failing host tap.
    /// </summary>
    public void FailNextRead(int result)
    {
        lock (_gate)
        {
            _failNextRead = result;
        }

        _source.Signal();
    }

    /// <inheritdoc/>
    public InputSource Input => _source;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> HardwareAddress => _mac;

    /// <summary>Queues a frame for the guest.</summary>
    public void Inject(byte[] frame)
    {
        lock (_gate)
        {
            _toGuest.Enqueue(frame);
        }

        _source.Signal();
    }

    /// <summary>Takes the oldest frame the guest sent, if any.</summary>
    public bool TryTakeTransmitted(out byte[] frame)
    {
        lock (_gate)
        {
            return _fromGuest.TryDequeue(out frame!);
        }
    }

    /// <inheritdoc/>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        byte[] frame;
        lock (_gate)
        {
            if (_failNextRead is { } failure)
            {
                _failNextRead = null;
                return failure;
            }

            if (!_toGuest.TryDequeue(out frame!))
            {
                return -11; // EAGAIN
            }
        }

        // Like a tap read: one frame, truncated to the buffers, returns the bytes stored.
        int done = 0;
        foreach (GuestBuffer b in buffers)
        {
            int n = Math.Min((int)b.Length, frame.Length - done);
            memory.Write(b.Address, frame.AsSpan(done, n));
            done += n;
            if (done == frame.Length)
            {
                break;
            }
        }

        return done;
    }

    /// <inheritdoc/>
    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        ulong length = 0;
        foreach (GuestBuffer b in buffers)
        {
            length += b.Length;
        }

        if (length < EthernetHeaderSize)
        {
            // As a real tap: a frame shorter than an Ethernet header is refused (EINVAL).
            return -Einval;
        }

        if (length > MaxFrame)
        {
            // As a real tap: a frame it cannot fit in one socket buffer is refused (EMSGSIZE),
            // here before a byte of it is copied.
            return -Emsgsize;
        }

        var bytes = new MemoryStream((int)length);
        foreach (GuestBuffer b in buffers)
        {
            bytes.Write(memory.GetSpan(b.Address, b.Length));
        }

        byte[] frame = bytes.ToArray();

        if (_responder?.TryHandle(frame) == true)
        {
            return frame.Length;
        }

        lock (_gate)
        {
            // A real tap's queue to a host that does not read is bounded too (txqueuelen):
            // past it, frames are dropped and the write still succeeds.
            if (_fromGuest.Count < MaxQueued)
            {
                _fromGuest.Enqueue(frame);
            }
        }

        return frame.Length;
    }
}
