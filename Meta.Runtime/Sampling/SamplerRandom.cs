namespace Meta.Sampling;

/// <summary>
/// The samplers' random stream: xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Plain .NET, so a draw
/// costs nanoseconds, and its whole state is four 64-bit words that a checkpoint can store and restore exactly.
/// </summary>
public sealed class SamplerRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the stream; different seeds give unrelated streams.</summary>
    public SamplerRandom(ulong seed)
    {
        var z = seed;
        _s0 = SplitMix(ref z);
        _s1 = SplitMix(ref z);
        _s2 = SplitMix(ref z);
        _s3 = SplitMix(ref z);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1; // the all-zero state is the generator's only fixed point
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="count"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "the range must hold at least one value");
        var n = (uint)count;
        var m = (ulong)(uint)(NextUInt64() >> 32) * n;
        var low = (uint)m;
        if (low < n)
        {
            var threshold = (0u - n) % n;
            while (low < threshold)
            {
                m = (ulong)(uint)(NextUInt64() >> 32) * n;
                low = (uint)m;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>|X| for X ~ N(0, σ²) (Box–Muller; two uniforms per value, no cached spare, so the state stays four words).</summary>
    public double NextHalfNormal(double sigma)
    {
        var u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        var u2 = NextDouble();
        return Math.Abs(sigma * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>The state: four words.</summary>
    public ulong[] ExportState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a state from <see cref="ExportState"/>; the following numbers are those that followed the export.</summary>
    public void ImportState(IReadOnlyList<ulong> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 4) throw new ArgumentException($"random state: expected 4 words, got {state.Count}", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("random state: all four words are zero, which is not a valid xoshiro256** state", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    private static ulong SplitMix(ref ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        var x = z;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
