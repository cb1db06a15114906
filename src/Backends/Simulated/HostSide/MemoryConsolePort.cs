using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;
using T = LguestSim.Backends.Simulated.Transcript.Transcript;

namespace LguestSim.Backends.Simulated.HostSide;

/// <summary>
/// The console's host side in simulation: input typed by the scenario, output captured in
/// the transcript (and optionally echoed). Given a real port (a terminal), it passes reads
/// and writes through to it instead and only records them.
/// </summary>
public sealed class MemoryConsolePort : IConsolePort
{
    private readonly object _gate = new();
    private readonly Queue<byte> _input = new();
    private readonly T _transcript;
    private readonly QueueInputSource _source;
    private readonly IConsolePort? _real;
    private bool _eof;

    /// <summary>Creates the port writing output lines to <paramref name="transcript"/>.</summary>
    public MemoryConsolePort(T transcript)
        : this(transcript, null)
    {
    }

    /// <summary>
    /// Creates the port writing output lines to <paramref name="transcript"/>; with
    /// <paramref name="real"/>, the guest's console is that port (keyboard and screen are
    /// real) and the transcript still shows every byte read and written.
    /// </summary>
    public MemoryConsolePort(T transcript, IConsolePort? real)
    {
        _transcript = transcript;
        _real = real;
        _source = new QueueInputSource(() =>
        {
            lock (_gate)
            {
                return _input.Count > 0 || _eof;
            }
        });
    }

    /// <inheritdoc/>
    public InputSource Input => _real?.Input ?? _source;

    /// <summary>Most bytes of output kept in <see cref="Output"/> (1 MiB); the rest is only counted.</summary>
    public const int OutputLimit = 1 << 20;

    /// <summary>Most bytes of one write quoted in the transcript (4 KiB); the line says how many more there were.</summary>
    public const int QuoteLimit = 4096;

    /// <summary>
    /// <c>MAX_RW_COUNT</c>: the most one <c>writev</c> moves (INT_MAX rounded down to a page);
    /// a longer chain is a short write, as on a real console.
    /// </summary>
    private const long MaxWrite = 0x7FFF_F000;

    /// <summary>The first <see cref="OutputLimit"/> bytes the guest wrote.</summary>
    public MemoryStream Output { get; } = new();

    /// <summary>How many bytes the guest wrote in all (<see cref="Output"/> keeps the first of them).</summary>
    public long OutputLength { get; private set; }

    /// <summary>Types <paramref name="data"/> on the simulated keyboard.</summary>
    /// <exception cref="InvalidOperationException">The console is the real stdin/stdout: type on it instead.</exception>
    public void Type(ReadOnlySpan<byte> data)
    {
        ThrowIfReal("host.type");
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
    /// <exception cref="InvalidOperationException">The console is the real stdin/stdout.</exception>
    public void CloseInput()
    {
        ThrowIfReal("host.console.eof");
        lock (_gate)
        {
            _eof = true;
        }

        _source.Signal();
    }

    /// <inheritdoc/>
    public int Read(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers)
    {
        if (_real is not null)
        {
            int n = _real.Read(memory, buffers);
            _transcript.Line(n > 0 ? $"host: console read {T.Quote(Gather(memory, buffers, n))}" : $"host: console read returned {n}");
            return n;
        }

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
        // Whatever the chain's length (128 buffers of all of guest RAM, overlapping), only a
        // bounded prefix is copied: into Output while it has room, and into the transcript line.
        long total = 0;
        foreach (GuestBuffer b in buffers)
        {
            total += b.Length;
        }

        long length = Math.Min(total, MaxWrite);
        int room = (int)Math.Min(length, OutputLimit - Output.Length);
        if (room > 0)
        {
            Output.Write(Gather(memory, buffers, room));
        }

        OutputLength += length;
        byte[] quoted = Gather(memory, buffers, (int)Math.Min(length, QuoteLimit));
        _transcript.Line(length > quoted.Length
            ? $"console> {T.Quote(quoted)} ({(length - quoted.Length).ToString(System.Globalization.CultureInfo.InvariantCulture)} more bytes left out)"
            : $"console> {T.Quote(quoted)}");
        if (_real is null)
        {
            return (int)length;
        }

        int written = _real.Write(memory, buffers);
        if (written != length)
        {
            _transcript.Line($"host: console write returned {written}");
        }

        return written;
    }

    /// <inheritdoc/>
    public void InputFailed()
    {
        _real?.InputFailed();
        _transcript.Line("host: console input closed; terminal restored");
    }

    /// <summary>The first <paramref name="limit"/> bytes of <paramref name="buffers"/>, in order.</summary>
    private static byte[] Gather(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, int limit)
    {
        var bytes = new MemoryStream();
        foreach (GuestBuffer b in buffers)
        {
            int take = (int)Math.Min(b.Length, (uint)(limit - (int)bytes.Length));
            bytes.Write(memory.GetSpan(b.Address, (ulong)take));
            if (bytes.Length >= limit)
            {
                break;
            }
        }

        return bytes.ToArray();
    }

    private void ThrowIfReal(string verb)
    {
        if (_real is not null)
        {
            throw new InvalidOperationException($"{verb} needs the simulated console (--console=sim); this console is the real stdin/stdout");
        }
    }
}
