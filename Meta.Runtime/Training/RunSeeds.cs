using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// Independent random streams derived from one run seed: weight initialisation, task sampling, evaluation tasks and
/// baselines never share a generator, so changing e.g. the number of iterations does not change the test tasks.
/// Only the weight and task streams are training state (checkpointed); evaluation streams restart on every use.
/// </summary>
public sealed class RunSeeds : IDisposable, Meta.Checkpoints.ICheckpointable
{
    /// <summary>
    /// Derives the streams from <paramref name="seed"/>. In data-parallel training every rank shares the weight stream
    /// (identical θ everywhere) and draws tasks from its own stream, derived from the seed and <paramref name="rank"/>.
    /// </summary>
    public RunSeeds(long seed, int rank = 0)
    {
        Seed = seed;
        Rank = rank;
        Weights = new Generator(Derive(seed, 1));
        Tasks = new Generator(rank == 0 ? Derive(seed, 2) : Derive(seed, 1000 + (ulong)rank));

    }

    /// <summary>The run seed.</summary>
    public long Seed { get; }

    /// <summary>The rank whose task stream this is.</summary>
    public int Rank { get; }

    /// <inheritdoc />
    public void Save(string prefix, Meta.Checkpoints.CheckpointWriter writer)
    {
        writer.Tensor(prefix + "weights", Weights.get_state());
        // After a draw ahead (EpisodeLookahead), the state the next iteration starts from is the one before that draw.
        writer.Tensor(prefix + "tasks", _tasksBeforeDrawAhead ?? Tasks.get_state());

    }

    /// <inheritdoc />
    public void Load(string prefix, Meta.Checkpoints.CheckpointReader reader)
    {
        using (var s = reader.Tensor(prefix + "weights")) Weights.set_state(s);
        using (var s = reader.Tensor(prefix + "tasks")) Tasks.set_state(s);
        CaughtUp();

    }

    /// <summary>Weight initialisation.</summary>
    public Generator Weights { get; }

    /// <summary>Task and episode sampling during meta-training.</summary>
    public Generator Tasks { get; }

    private Tensor? _tasksBeforeDrawAhead;

    /// <summary>
    /// Marks the start of a draw from <see cref="Tasks"/> made ahead of time for the next iteration: until
    /// <see cref="CaughtUp"/>, a checkpoint records the state from before it, so that a run resumed from that checkpoint
    /// draws the same episode again and continues exactly as the uninterrupted run.
    /// </summary>
    internal void BeginDrawAhead()
    {
        _tasksBeforeDrawAhead?.Dispose();
        _tasksBeforeDrawAhead = Tasks.get_state().DetachFromDisposeScope();
    }

    /// <summary>The episode drawn ahead is now the current iteration's: checkpoints record the generator as it is.</summary>
    internal void CaughtUp()
    {
        _tasksBeforeDrawAhead?.Dispose();
        _tasksBeforeDrawAhead = null;
    }

    /// <summary>
    /// A new generator for the fixed evaluation tasks. Each call starts the same stream, so the test tasks depend only on
    /// the seed: not on the iteration budget, on whether the run was resumed, or on an evaluation made earlier.
    /// </summary>
    public Generator NewEvaluation() => new(Derive(Seed, 3));

    /// <summary>A new generator for baseline initialisation and pre-training (same stream on every call).</summary>
    public Generator NewBaselines() => new(Derive(Seed, 4));

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
        CaughtUp();

    }
}
