using LguestSim.Engine.Memory;

namespace LguestSim.Tests.Property.Infrastructure;

/// <summary>Raised by <see cref="RecordingGuestMemory"/> when the code under test reaches outside <c>[0, Limit)</c>.</summary>
public sealed class OutOfLimitAccessException : Exception
{
    public OutOfLimitAccessException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Guest memory over a plain byte array that checks every span it hands out against the limit.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="GuestMemory"/> funnels every span it makes, checked or pre-validated, through
/// <see cref="GetSpanCore"/>. Here that method insists the range lies inside <c>[0, Limit)</c>
/// (not merely inside the larger backing capacity): a violation is recorded and thrown, so
/// the engine cannot carry on with a bad span and the test sees a non-guest-fault exception.
/// </para>
/// <para>
/// What it cannot see: reads made through a span already handed out. A virtqueue pass takes
/// one window, <c>[0, Limit)</c>, and slices the ring, descriptors and buffers out of it, so
/// for pops this records that one window, not the bytes the pop reads; tests that care
/// where a chain's buffers lie check the popped buffers themselves. Reference models read
/// <see cref="Bytes"/> directly, which is not counted as an access.
/// </para>
/// </remarks>
public sealed class RecordingGuestMemory : GuestMemory
{
    private readonly byte[] _bytes;
    private readonly List<string> _violations = new();

    public RecordingGuestMemory(ulong capacity, ulong limit)
        : base(capacity, limit)
    {
        _bytes = new byte[capacity];
    }

    public RecordingGuestMemory(ulong size)
        : this(size, size)
    {
    }

    /// <summary>The raw backing bytes, for independent reads by test models.</summary>
    public byte[] Bytes => _bytes;

    /// <summary>How many backing spans were handed out.</summary>
    public long AccessCount { get; private set; }

    /// <summary>One line per access outside <c>[0, Limit)</c>.</summary>
    public IReadOnlyList<string> Violations => _violations;

    /// <summary>Calls <see cref="GetSpanCore"/> directly: lets tests check this double itself.</summary>
    public Span<byte> TouchRaw(int offset, int length) => GetSpanCore(offset, length);

    protected override Span<byte> GetSpanCore(int offset, int length)
    {
        AccessCount++;
        ulong limit = Limit;
        bool inside = offset >= 0
            && length >= 0
            && (ulong)offset < limit
            && (ulong)offset + (ulong)length <= limit;
        if (!inside)
        {
            string what = $"access [0x{offset:x}, +0x{length:x}) outside [0, 0x{limit:x})";
            _violations.Add(what);
            throw new OutOfLimitAccessException(what);
        }

        return _bytes.AsSpan(offset, length);
    }
}
