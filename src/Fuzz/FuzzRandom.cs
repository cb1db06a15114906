namespace LguestSim.Fuzz;

/// <summary>
/// Where a program's choices come from: a seeded xorshift stream (the fuzzer, deterministic
/// for a seed) or the bytes of one input (<see cref="FuzzTarget.RunBytes"/>, for a
/// coverage-guided fuzzer that mutates the bytes). Past the end of the bytes every choice is 0.
/// </summary>
public sealed class FuzzRandom
{
    private readonly byte[]? _bytes;
    private int _pos;
    private ulong _state;

    /// <summary>A seeded stream.</summary>
    public FuzzRandom(ulong seed) => _state = (seed * 0x9E3779B97F4A7C15UL) | 1;

    /// <summary>A stream that reads <paramref name="bytes"/>.</summary>
    public FuzzRandom(ReadOnlySpan<byte> bytes) => _bytes = bytes.ToArray();

    /// <summary>The next 64 random bits.</summary>
    public ulong NextU64()
    {
        if (_bytes is not null)
        {
            ulong v = 0;
            for (int i = 0; i < 8; i++)
            {
                v |= (ulong)NextByte() << (8 * i);
            }

            return v;
        }

        // xorshift64*
        ulong x = _state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _state = x;
        return x * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A value in <c>[0, max)</c> (0 when <paramref name="max"/> ≤ 1).</summary>
    public int Next(int max)
    {
        if (max <= 1)
        {
            return 0;
        }

        if (_bytes is not null)
        {
            return max <= 256 ? NextByte() % max : (int)(((uint)NextByte() | ((uint)NextByte() << 8) | ((uint)NextByte() << 16)) % (uint)max);
        }

        return (int)((NextU64() >> 33) % (ulong)max);
    }

    /// <summary>A value in <c>[min, max]</c>.</summary>
    public int Range(int min, int max) => min + Next(max - min + 1);

    /// <summary>True with probability 1/<paramref name="n"/>.</summary>
    public bool OneIn(int n) => Next(n) == 0;

    /// <summary>One of <paramref name="items"/>.</summary>
    public T Pick<T>(ReadOnlySpan<T> items) => items[Next(items.Length)];

    private byte NextByte() => _pos < _bytes!.Length ? _bytes[_pos++] : (byte)0;
}
