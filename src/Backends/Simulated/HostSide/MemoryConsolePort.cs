using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.HostSide;

/// <summary>
/// The console's host side in simulation: input typed by the scenario, output captured in
/// the transcript (and optionally echoed).
/// </summary>
public sealed class MemoryConsolePort : IConsolePort
{
    private readonly object _gate = new();
    private readonly Queue<byte> _input = new();
    private readonly T _transcript;
    private readonly QueueInputSource _source;
    private bool _eof;

    /// <summary>Creates the port writing output lines to <paramref name="transcript"/>.</summary>
    public MemoryConsolePort(T transcript)
    {
        _transcript = transcript;
        _source = new QueueInputSource("console", () =>
        {
            lock (_gate)
            {
                return _input.Count > 0 || _eof;
            }
        });
    }

    /// <inheritdoc/>
    public InputSource Input => _source;

    /// <summary>Every byte the guest wrote.</summary>
    public MemoryStream Output { get; } = new();

    /// <summary>Types <paramref name="data"/> on the simulated keyboard.</summary>
    public void Type(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            foreach (byte b in data)
            {
                _input.Enqueue(b);
            }
        }

        _source.Signal();
    }

    /// <summary>Closes the simulated keyboard: the next read returns end of file.</summary>
    public void CloseInput()
    {
        lock (_gate)
        {
            _eof = true;
        }

        _source.Signal();
    }

    /// <inheritdoc/>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        lock (_gate)
        {
            int total = 0;
            foreach (GuestBuffer b in buffers)
            {
                Span<byte> span = memory.GetSpan(b.Address, b.Length);
                int n = 0;
                while (n < span.Length && _input.Count > 0)
                {
                    span[n++] = _input.Dequeue();
                }

                total += n;
                if (n < span.Length)
                {
                    break;
                }
            }

            return total;
        }
    }

    /// <inheritdoc/>
    public int Write(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        var bytes = new MemoryStream();
        foreach (GuestBuffer b in buffers)
        {
            bytes.Write(memory.GetSpan(b.Address, b.Length));
        }

        byte[] data = bytes.ToArray();
        Output.Write(data);
        _transcript.Line($"console> {T.Quote(data)}");
        return data.Length;
    }

    /// <inheritdoc/>
    public void InputFailed() => _transcript.Line("host: console input closed; terminal restored");
}
