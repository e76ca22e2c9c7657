using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// An optimiser over one flat meta-parameter vector, updated in place by <see cref="Step"/>. The learning rate may be
/// changed between steps, which is how schedules (<see cref="LinearDecay"/>, <see cref="CosineAnnealing"/>) are applied.
/// </summary>
public interface IMetaOptimizer : IDisposable, Meta.Checkpoints.ICheckpointable
{
    /// <summary>The step size used by the next <see cref="Step"/>.</summary>
    double LearningRate { get; set; }

    /// <summary>Number of steps taken.</summary>
    long Steps { get; }

    /// <summary>Applies one update with <paramref name="gradient"/> (same shape as the parameters).</summary>
    void Step(Tensor gradient);

    /// <summary>
    /// Multiplies the step size of entries [offset, offset + count) by <paramref name="factor"/> (> 0), e.g. to give
    /// learned inner learning rates a smaller meta learning rate than the weights. Part of the configuration, not of a
    /// checkpoint: a trainer sets it before training and again on resume.
    /// </summary>
    void ScaleLearningRate(long offset, long count, double factor);
}
