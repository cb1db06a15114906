using LguestSim.Engine.HostIo;
using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Block;

/// <summary>Passes every call to another store and records it: "flush", "read@OFFSET", "write@OFFSET".</summary>
public sealed class RecordingBlockStore(IBlockStore inner) : IBlockStore
{
    private readonly List<string> _calls = new();

    public long Length => inner.Length;

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls)
            {
                return _calls.ToArray();
            }
        }
    }

    public long ReadAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        Record($"read@{offset}");
        return inner.ReadAt(memory, buffers, offset);
    }

    public long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        Record($"write@{offset}");
        return inner.WriteAt(memory, buffers, offset);
    }

    public int FlushData()
    {
        Record("flush");
        return inner.FlushData();
    }

    private void Record(string call)
    {
        lock (_calls)
        {
            _calls.Add(call);
        }
    }
}
