using System.Runtime.InteropServices;

namespace LguestSim.Engine.HostIo;

/// <summary>
/// Something a device listens on for input (stdin, a tap, the block worker's completions):
/// the Waker waits on it and the run loop polls it.
/// </summary>
/// <remarks>
/// lguest.c keeps these as file descriptors in a select set. Here a source says whether it
/// is ready now (a zero-timeout poll) and tells subscribers when it may have become ready,
/// so that the Waker thread can sleep until then.
/// </remarks>
public abstract class InputSource
{
    private readonly object _gate = new();
    private Action? _readied;

    /// <summary>Whether a read would not block now.</summary>
    public abstract bool IsReady { get; }

    /// <summary>
    /// An OS handle a poll-based Waker can wait on for readability (stdin, a tap), or null
    /// for a source that only signals through <see cref="Subscribe"/>.
    /// </summary>
    public virtual SafeHandle? PollHandle => null;

    /// <summary>Registers <paramref name="callback"/> to run (on any thread) whenever the source may have become ready.</summary>
    public void Subscribe(Action callback)
    {
        lock (_gate)
        {
            _readied += callback;
        }
    }

    /// <summary>Removes a callback registered with <see cref="Subscribe"/>.</summary>
    public void Unsubscribe(Action callback)
    {
        lock (_gate)
        {
            _readied -= callback;
        }
    }

    /// <summary>Tells subscribers that the source may be ready.</summary>
    protected void SignalReady()
    {
        Action? readied;
        lock (_gate)
        {
            readied = _readied;
        }

        readied?.Invoke();
    }
}
