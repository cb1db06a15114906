using System.Runtime.InteropServices;
using LguestSim.Engine.HostIo;
using LguestSim.Host.Interop;

namespace LguestSim.Host.Waking;

/// <summary>An input source that is a file descriptor (stdin, a tap): ready when poll says it is readable.</summary>
public sealed class FdInputSource : InputSource
{
    private readonly SafeHandle _handle;

    /// <summary>Wraps <paramref name="handle"/>; the caller keeps owning it.</summary>
    public FdInputSource(SafeHandle handle) => _handle = handle;

    /// <inheritdoc/>
    public override SafeHandle? PollHandle => _handle;

    /// <inheritdoc/>
    public override bool IsReady
    {
        get
        {
            Span<bool> readable = stackalloc bool[1];
            return Sys.PollReadable([_handle], readable, 0) > 0 && readable[0];
        }
    }
}
