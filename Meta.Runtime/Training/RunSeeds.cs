using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// Independent random streams derived from one run seed: weight initialisation, task sampling, evaluation tasks and
/// baselines never share a generator, so changing e.g. the number of iterations does not change the test tasks.
/// </summary>
public sealed class RunSeeds : IDisposable
{
    /// <summary>Derives the streams from <paramref name="seed"/>.</summary>
    public RunSeeds(long seed)
    {
        Seed = seed;
        Weights = new Generator(Derive(seed, 1));
        Tasks = new Generator(Derive(seed, 2));
        Evaluation = new Generator(Derive(seed, 3));
        Baselines = new Generator(Derive(seed, 4));
    }

    /// <summary>The run seed.</summary>
    public long Seed { get; }

    /// <summary>Weight initialisation.</summary>
    public Generator Weights { get; }

    /// <summary>Task and episode sampling during meta-training.</summary>
    public Generator Tasks { get; }

    /// <summary>The fixed evaluation tasks.</summary>
    public Generator Evaluation { get; }

    /// <summary>Baseline initialisation and pre-training.</summary>
    public Generator Baselines { get; }

    /// <summary>Seed of the task sampler's own stream (priority queue initial values, cell draws, jitter).</summary>
    public ulong Sampler => Derive(Seed, 5);

    /// <summary>SplitMix64 of (seed, stream): well-separated 64-bit seeds for each stream.</summary>
    public static ulong Derive(long seed, ulong stream)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (stream + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Weights.Dispose();
        Tasks.Dispose();
        Evaluation.Dispose();
        Baselines.Dispose();
    }
}
