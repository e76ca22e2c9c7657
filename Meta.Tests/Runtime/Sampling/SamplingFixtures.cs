using Meta.Sampling;
using Meta.Tasks;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>A small box for distribution tests: x ∈ [0, nx], y ∈ [0, ny], unit blocks → nx × ny cells (default 4 × 3 = 12).</summary>
internal sealed class BoxFamily(int nx = 4, int ny = 3) : IContinuousTaskFamily
{
    public IReadOnlyList<TaskParameter> Parameters { get; } = [new("x", "x", 0, nx), new("y", "y", 0, ny)];
    public ScalarType DType => ScalarType.Float64;
    public IReadOnlyList<double> DefaultQueueBlocks { get; } = [1.0, 1.0];
    public IReadOnlyList<double> DefaultValidationSteps { get; } = [1.0, 1.0];
    public Episode EpisodeFor(Tensor parameters, int support, int query, Generator generator) => throw new NotSupportedException();
}

internal static class SamplingFixtures
{
    /// <summary>A sampler of <paramref name="kind"/> on the 12-cell box whose losses (and changes) are <paramref name="values"/>.</summary>
    public static TaskSampler BoxSampler(SamplerKind kind, double[] values, ulong seed = 17, PriorityQueueOptions? options = null)
    {
        var sampler = TaskSamplers.Create(new BoxFamily(), (options ?? new PriorityQueueOptions()) with { Kind = kind }, seed);
        var queue = sampler.Queue!;
        var state = queue.ExportState();
        queue.ImportState(state with { Losses = (double[])values.Clone(), Changes = (double[])values.Clone() });
        return sampler;
    }

    /// <summary>Pearson's χ² of observed counts against expected probabilities (cells with p = 0 must have no draws).</summary>
    public static double ChiSquare(long[] observed, double[] p)
    {
        var n = observed.Sum();
        var chi = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == 0)
            {
                Assert.Equal(0, observed[i]);
                continue;
            }
            var e = n * p[i];
            chi += (observed[i] - e) * (observed[i] - e) / e;
        }
        return chi;
    }

    /// <summary>Upper 0.1 % point of χ² with 11 degrees of freedom.</summary>
    public const double ChiSquare11At001 = 31.26;

    /// <summary>Draws <paramref name="draws"/> × <paramref name="batch"/> tasks (no observing) and counts the cells.</summary>
    public static long[] CountCells(ITaskSampler sampler, int draws, int batch, List<double>? weights = null)
    {
        var counts = new long[sampler.Queue!.Cells];
        for (var i = 0; i < draws; i++)
        {
            using var scope = NewDisposeScope();
            var draw = sampler.Draw(batch);
            foreach (var c in draw.Cells!) counts[c]++;
            if (weights is not null && draw.ImportanceWeights is not null) weights.AddRange(draw.ImportanceWeights);
        }
        return counts;
    }
}
