using System.Runtime.InteropServices;
using LguestSim.Engine.Channel;
using LguestSim.Engine.HostIo;
using LguestSim.Engine.Launch;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Waking;

/// <summary>
/// The Waker of spec §6.2 for real runs: a thread blocked in <c>poll(2)</c> on the watched
/// sources' OS handles (stdin, taps) plus an eventfd that carries control messages and the
/// signals of sources without a handle (the block worker's completions). When something is
/// readable it breaks the guest's run so that the run loop services it.
/// </summary>
/// <remarks>
/// As in lguest.c, a control message is handled on its own, before readiness is looked at
/// again: the run loop posts "remove" before it releases a break, so the Waker never breaks
/// again for an input that was just dropped.
/// </remarks>
public sealed class PollWaker : IWaker
{
    private readonly ILguestChannel _channel;
    private readonly EventFdHandle _control = EventFdHandle.Create();
    private readonly Queue<(InputSource Source, bool Add)> _messages = new();
    private readonly List<InputSource> _watched = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly Action _onSignal;
    private volatile bool _stopping;

    /// <summary>Creates and starts the Waker for <paramref name="channel"/>.</summary>
    public PollWaker(ILguestChannel channel)
    {
        _channel = channel;
        _onSignal = _control.Signal;
        _thread = new Thread(Loop) { IsBackground = true, Name = "lguest poll waker" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public void Add(InputSource source) => Post(source, add: true);

    /// <inheritdoc/>
    public void Remove(InputSource source) => Post(source, add: false);

    /// <summary>Stops the thread and closes the eventfd.</summary>
    public void Dispose()
    {
        _stopping = true;
        _control.Signal();
        _thread.Join(TimeSpan.FromSeconds(5));
        foreach (InputSource s in _watched)
        {
            s.Unsubscribe(_onSignal);
        }

        _control.Dispose();
    }

    private void Post(InputSource source, bool add)
    {
        lock (_gate)
        {
            _messages.Enqueue((source, add));
        }

        _control.Signal();
    }

    private void Loop()
    {
        var handles = new List<SafeHandle>();
        while (!_stopping)
        {
            (InputSource Source, bool Add)? message = null;
            lock (_gate)
            {
                if (_messages.Count > 0)
                {
                    message = _messages.Dequeue();
                }
            }

            if (message is { } m)
            {
                Apply(m.Source, m.Add);
                continue;
            }

            // Sources without a handle say so through IsReady; those with one are polled.
            bool ready = _watched.Any(s => s.PollHandle is null && s.IsReady);
            if (!ready)
            {
                handles.Clear();
                handles.Add(_control);
                handles.AddRange(_watched.Where(s => s.PollHandle is not null).Select(s => s.PollHandle!));
                bool[] readable = new bool[handles.Count];
                int rc = Sys.PollReadable(handles.ToArray(), readable, -1);
                if (rc < 0 || _stopping)
                {
                    continue;
                }

                if (readable[0])
                {
                    _control.Drain();
                    continue;
                }

                ready = readable.AsSpan(1).Contains(true);
            }

            if (ready)
            {
                _channel.Break();
            }
        }
    }

    private void Apply(InputSource source, bool add)
    {
        if (add && !_watched.Contains(source))
        {
            _watched.Add(source);
            source.Subscribe(_onSignal);
        }
        else if (!add && _watched.Remove(source))
        {
            source.Unsubscribe(_onSignal);
        }
    }
}
