using LguestSim.Engine.Channel;
using LguestSim.Engine.HostIo;

namespace LguestSim.Engine.Launch;

/// <summary>The Launcher's handle on the Waker: which inputs to watch. Disposing it stops the Waker.</summary>
public interface IWaker : IDisposable
{
    /// <summary>Watch <paramref name="source"/> (again).</summary>
    void Add(InputSource source);

    /// <summary>Stop watching <paramref name="source"/> until it is added again.</summary>
    void Remove(InputSource source);
}

/// <summary>
/// The Waker of spec §6.2 as a thread: it sleeps until a watched input is ready, then breaks
/// the guest out of its run (<c>LHREQ_BREAK 1</c>) so that the run loop services it. It is
/// for sources that signal through <see cref="InputSource.Subscribe"/> (simulation); real
/// file descriptors need the poll-based Waker of LguestSim.Host.
/// </summary>
/// <remarks>
/// <para>
/// lguest.c forks a process that selects on the device fds plus a control pipe. Here the
/// control pipe is a queue of add/remove messages and readiness arrives through
/// <see cref="InputSource.Subscribe"/>. As in the original, a control message is handled
/// on its own, before readiness is looked at again: the run loop sends "remove" before it
/// releases the break, so the Waker never breaks again for an input just dropped.
/// </para>
/// <para>
/// <see cref="ILguestChannel.Break"/> blocks until the run loop releases it, so at most one
/// break is outstanding.
/// </para>
/// </remarks>
public sealed class Waker : IWaker
{
    private readonly ILguestChannel _channel;
    private readonly Queue<(InputSource Source, bool Add)> _control = new();
    private readonly HashSet<InputSource> _watched = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly Action _onReady;
    private bool _signalled;
    private bool _stopping;

    /// <summary>Creates and starts the Waker thread for <paramref name="channel"/>.</summary>
    public Waker(ILguestChannel channel)
    {
        _channel = channel;
        _onReady = Signal;
        _thread = new Thread(Loop) { IsBackground = true, Name = "lguest waker" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public void Add(InputSource source) => Post(source, add: true);

    /// <inheritdoc/>
    public void Remove(InputSource source) => Post(source, add: false);

    /// <summary>Stops the thread (the Launcher closing its end of the control pipe).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        _thread.Join(TimeSpan.FromSeconds(5));
        foreach (InputSource s in _watched)
        {
            s.Unsubscribe(_onReady);
        }
    }

    private void Post(InputSource source, bool add)
    {
        lock (_gate)
        {
            _control.Enqueue((source, add));
            Monitor.PulseAll(_gate);
        }
    }

    private void Signal()
    {
        lock (_gate)
        {
            _signalled = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Loop()
    {
        while (true)
        {
            (InputSource Source, bool Add)? message = null;
            lock (_gate)
            {
                while (!_stopping && _control.Count == 0 && !_signalled && !AnyReady())
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                if (_control.Count > 0)
                {
                    message = _control.Dequeue();
                }
                else
                {
                    _signalled = false;
                }
            }

            if (message is { } m)
            {
                Apply(m.Source, m.Add);
                continue;
            }

            bool ready;
            lock (_gate)
            {
                ready = AnyReady();
            }

            if (ready)
            {
                _channel.Break();
            }
        }
    }

    private void Apply(InputSource source, bool add)
    {
        if (add)
        {
            if (_watched.Add(source))
            {
                source.Subscribe(_onReady);
            }
        }
        else if (_watched.Remove(source))
        {
            source.Unsubscribe(_onReady);
        }
    }

    private bool AnyReady()
    {
        foreach (InputSource s in _watched)
        {
            if (s.IsReady)
            {
                return true;
            }
        }

        return false;
    }
}
