using LguestSim.Engine.Memory;
using LguestSim.Engine.Virtio;

namespace LguestSim.Tests.Property.Block;

/// <summary>
/// A disk with a volatile cache: writes land in <see cref="MemoryBlockStore.Bytes"/> (the page
/// cache), and only <see cref="FlushData"/> makes them durable. A power cut keeps
/// <see cref="Durable"/> and drops everything written since the last flush.
/// </summary>
public sealed class CrashModelBlockStore(byte[] bytes) : MemoryBlockStore(bytes)
{
    private readonly object _gate = new();
    private byte[] _durable = (byte[])bytes.Clone();
    private int _writes;
    private int _durableWrites;

    /// <summary>What a power cut now would leave, and how many writes (in order) it holds.</summary>
    public (byte[] Image, int Writes) Durable
    {
        get
        {
            lock (_gate)
            {
                return ((byte[])_durable.Clone(), _durableWrites);
            }
        }
    }

    public override long WriteAt(GuestMemory memory, ReadOnlySpan<GuestBuffer> buffers, long offset)
    {
        lock (_gate)
        {
            _writes++;
            return base.WriteAt(memory, buffers, offset);
        }
    }

    public override int FlushData()
    {
        lock (_gate)
        {
            _durable = (byte[])Bytes.Clone();
            _durableWrites = _writes;
            return 0;
        }
    }
}
