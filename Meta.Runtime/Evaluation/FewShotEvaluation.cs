using System.Globalization;
using Meta.Algorithms;
using Meta.Tasks;
using Meta.Tasks.Images;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>Few-shot accuracy over fixed test episodes.</summary>
/// <param name="Accuracy">Mean query accuracy over episodes, in [0, 1].</param>
/// <param name="Ci95">Half-width of its 95 % confidence interval, 1.96·sd/√episodes.</param>
/// <param name="Loss">Mean query cross-entropy over episodes.</param>
/// <param name="Episodes">Number of test episodes.</param>
/// <param name="Steps">Inner steps used to adapt.</param>
public sealed record FewShotScore(double Accuracy, double Ci95, double Loss, int Episodes, int Steps)
{
    /// <summary>"98.12 ± 0.45 %".</summary>
    public string Percent => string.Create(CultureInfo.InvariantCulture, $"{100 * Accuracy:0.00} ± {100 * Ci95:0.00} %");

    /// <summary>As a row of an evaluation table (mean and CI in %).</summary>
    public EvaluationRow ToRow(string model, int shots) => new(model, shots, Steps, 100 * Accuracy, 100 * Ci95, Episodes);
}

/// <summary>
/// The standard few-shot test: a fixed set of test episodes (600 by default), each one N-way K-shot task with Q query
/// images per class, drawn from its own seed; the model adapts to each task's support set with the algorithm's own
/// test-time rule (<see cref="IMetaAlgorithm.Adapt"/>) and is scored by its accuracy on the task's query set; the result
/// is the mean over episodes with a 95 % confidence interval. Episode i is drawn from a generator seeded by (seed, i),
/// so the episodes do not depend on the chunk size, and the first n of 600 episodes are those of an n-episode test.
/// Batch norm uses each task's query-set statistics (transductive, as in MAML).
/// </summary>
public sealed class FewShotEvaluation
{
    /// <summary>The customary number of test episodes.</summary>
    public const int DefaultEpisodes = 600;

    /// <summary>Creates the test; <paramref name="chunk"/> tasks are adapted at once (0: as many as fit a fixed image budget).</summary>
    public FewShotEvaluation(FewShotFamily family, ulong seed, int episodes = DefaultEpisodes, int chunk = 0)
    {
        ArgumentNullException.ThrowIfNull(family);
        if (episodes < 2) throw new ArgumentOutOfRangeException(nameof(episodes), episodes, "at least 2 episodes are needed for a confidence interval");
        if (chunk < 0) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "0 (automatic) or a positive number of tasks");
        Family = family;
        Seed = seed;
        Episodes = episodes;
        // About a million input pixels per chunk (activations are ~64× that in the first block): 15 Omniglot 5-way tasks
        // with 15 queries per class (~1 GB peak with 64 filters), 50 with 1 query; Mini-ImageNet one task at a time.
        var pixelsPerTask = (long)family.Ways * (family.Shots + family.Queries) * family.ImageShape.Aggregate(1L, (a, b) => a * b);
        Chunk = chunk > 0 ? chunk : (int)Math.Clamp(1_000_000 / pixelsPerTask, 1, 50);
    }

    /// <summary>The task family the episodes come from.</summary>
    public FewShotFamily Family { get; }

    /// <summary>The seed of the episodes.</summary>
    public ulong Seed { get; }

    /// <summary>Number of test episodes.</summary>
    public int Episodes { get; }

    /// <summary>Tasks adapted at once.</summary>
    public int Chunk { get; }

    /// <summary>The protocol as one sentence.</summary>
    public string Protocol =>
        $"{Episodes} fixed test episodes ({Family.Source}), {Family.Ways}-way {Family.Shots}-shot with {Family.Queries} query images per class; " +
        "adapted with the algorithm's own rule; query accuracy, mean ± 95 % CI over episodes; batch norm with each task's batch statistics (transductive).";

    /// <summary>Episodes <paramref name="start"/>..start+count as one task-batched episode.</summary>
    public Episode Draw(int start, int count)
    {
        if (start < 0 || count < 1 || start + count > Episodes) throw new ArgumentOutOfRangeException(nameof(count), $"episodes {start}..{start + count} are outside 0..{Episodes}");
        using var scope = NewDisposeScope();
        var parts = new List<Episode>(count);
        for (var i = start; i < start + count; i++)
        {
            using var generator = new Generator(RunSeeds.Derive(unchecked((long)Seed), (ulong)i));
            parts.Add(Family.Draw(1, generator));
        }
        var episode = new Episode(
            cat(parts.Select(p => p.SupportX).ToArray(), 0), cat(parts.Select(p => p.SupportY).ToArray(), 0),
            cat(parts.Select(p => p.QueryX).ToArray(), 0), cat(parts.Select(p => p.QueryY).ToArray(), 0));
        episode.SupportX.MoveToOuterDisposeScope();
        episode.SupportY.MoveToOuterDisposeScope();
        episode.QueryX.MoveToOuterDisposeScope();
        episode.QueryY.MoveToOuterDisposeScope();
        return episode;
    }

    /// <summary>Adapts <paramref name="metaParameters"/> to every test episode with <paramref name="steps"/> inner steps and scores it.</summary>
    public FewShotScore Evaluate(IMetaAlgorithm algorithm, Tensor metaParameters, int steps, CancellationToken cancel = default,
        Meta.Hosting.PhaseProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be ≥ 0");
        var accuracies = new double[Episodes];
        var losses = new double[Episodes];
        for (var start = 0; start < Episodes; start += Chunk)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var count = Math.Min(Chunk, Episodes - start);
            var episode = Draw(start, count).ToDType(metaParameters.dtype);
            var fast = algorithm.Adapt(metaParameters, episode.SupportX, episode.SupportY, steps);
            using var noGrad = no_grad();
            var logits = algorithm.Network.Forward(fast, episode.QueryX);
            logits.argmax(2).eq(episode.QueryY).to_type(ScalarType.Float64).mean([1]).data<double>().CopyTo(accuracies, start);
            algorithm.Loss.PerTask(logits, episode.QueryY).to_type(ScalarType.Float64).data<double>().CopyTo(losses, start);
            progress?.Advance(count);
        }
        var mean = accuracies.Average();
        var sd = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (Episodes - 1));
        return new FewShotScore(mean, 1.96 * sd / Math.Sqrt(Episodes), losses.Average(), Episodes, steps);
    }
}

internal static class EpisodeDType
{
    /// <summary>The episode with floating-point inputs converted to <paramref name="dtype"/> (labels untouched).</summary>
    public static Episode ToDType(this Episode episode, ScalarType dtype) =>
        episode.SupportX.dtype == dtype ? episode : new Episode(episode.SupportX.to_type(dtype), episode.SupportY, episode.QueryX.to_type(dtype), episode.QueryY);
}
