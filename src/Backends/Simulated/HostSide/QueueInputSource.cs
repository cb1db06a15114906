using LguestSim.Engine.HostIo;

namespace LguestSim.Backends.Simulated.HostSide;

/// <summary>An input source that is ready while its owner says data is waiting.</summary>
public sealed class QueueInputSource : InputSource
{
    private readonly Func<bool> _ready;

    /// <summary>Creates a source whose readiness is <paramref name="ready"/>.</summary>
    public QueueInputSource(Func<bool> ready) => _ready = ready;

    /// <inheritdoc/>
    public override bool IsReady => _ready();

    /// <summary>Tells the Waker that data may be waiting.</summary>
    public void Signal() => SignalReady();
}
