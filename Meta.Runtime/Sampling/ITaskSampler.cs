using Meta.Tasks;
using static TorchSharp.torch;

namespace Meta.Sampling;

/// <summary>
/// The tasks of one meta-batch. The tensors belong to the dispose scope that was current at <see cref="ITaskSampler.Draw"/>;
/// the arrays are plain copies for logging and tests.
/// </summary>
/// <param name="Parameters">Task parameters [T, D] in the family's dtype: feed to <see cref="IContinuousTaskFamily.EpisodeFor"/>.</param>
/// <param name="Weights">Importance weights [T] for <c>MetaStep(…, taskWeights)</c>, or null when the regime is unweighted.</param>
/// <param name="Cells">The queue cell of each task, or null for continuous uniform sampling.</param>
/// <param name="Values">The parameters as doubles, row-major [T·D].</param>
/// <param name="ImportanceWeights">The weights as doubles [T], or null.</param>
public sealed record TaskDraw(Tensor Parameters, Tensor? Weights, int[]? Cells, double[] Values, double[]? ImportanceWeights)
{
    /// <summary>Number of tasks T.</summary>
    public int Count => (int)Parameters.Dims()[0];

    /// <summary>Mean importance weight of the batch, or null when unweighted.</summary>
    public double? MeanImportanceWeight => ImportanceWeights is null ? null : ImportanceWeights.Average();
}

/// <summary>A sampler's complete state, for checkpoints.</summary>
/// <param name="Kind">The regime (checked on import).</param>
/// <param name="Draws">Draw calls so far (the meta-step counter of the ε schedule).</param>
/// <param name="DecayedDraws">Tasks drawn while ε was decaying (ε = max(final, start − rate · this)).</param>
/// <param name="Random">The uniform sampler's random state; null for grid samplers, whose random state is in <paramref name="Queue"/>.</param>
/// <param name="Queue">The priority queue's state; null for the uniform sampler.</param>
public sealed record TaskSamplerState(SamplerKind Kind, long Draws, long DecayedDraws, ulong[]? Random, PriorityQueueState? Queue);

/// <summary>
/// Draws the tasks of each meta-batch and learns from their losses. One meta-step: <see cref="Draw"/> B tasks (all from
/// the same queue state), build the episode, take the meta-step with <see cref="TaskDraw.Weights"/>, then
/// <see cref="Observe(TaskDraw, Tensor)"/> the step's per-task query losses (<c>MetaStepResult.TaskLosses</c>: unweighted,
/// after adaptation, under the pre-update θ).
/// </summary>
public interface ITaskSampler
{
    /// <summary>The regime.</summary>
    SamplerKind Kind { get; }

    /// <summary>The task family drawn from.</summary>
    IContinuousTaskFamily Family { get; }

    /// <summary>The priority queue, or null for continuous uniform sampling.</summary>
    PriorityQueue? Queue { get; }

    /// <summary>Draw calls so far.</summary>
    long Draws { get; }

    /// <summary>The current ε (ε-greedy), or null.</summary>
    double? Epsilon { get; }

    /// <summary>Draws <paramref name="count"/> tasks. O(cells + count · log cells) per call.</summary>
    TaskDraw Draw(int count);

    /// <summary>Inserts each task's loss [T] (finite, ≥ 0) into its cell, in task order (a later task in the same cell wins).</summary>
    void Observe(TaskDraw draw, Tensor taskLosses);

    /// <summary>As <see cref="Observe(TaskDraw, Tensor)"/>, from plain values.</summary>
    void Observe(TaskDraw draw, ReadOnlySpan<double> taskLosses);

    /// <summary>A copy of the complete state.</summary>
    TaskSamplerState ExportState();

    /// <summary>Restores a state from <see cref="ExportState"/>: subsequent draws equal those after the export.</summary>
    void ImportState(TaskSamplerState state);
}
