using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>Which normalisation statistics a forward pass of a <see cref="IStepwiseNetwork"/> uses.</summary>
public enum NormalizationStatistics
{
    /// <summary>Each task's own batch statistics (over that task's points, never across tasks): transductive.</summary>
    Batch,
    /// <summary>As <see cref="Batch"/>, and fold the batch statistics into the running statistics of that step.</summary>
    BatchAndTrack,
    /// <summary>The running statistics kept for that step: every point is normalised independently of the others.</summary>
    Running,
}

/// <summary>
/// A network whose forward pass depends on the inner-loop step: per-step batch normalisation (MAML++) keeps one set of
/// normalisation weights and one set of running statistics per step. Some of its parameters are meta-learned only and
/// are not changed by the inner loop.
/// </summary>
public interface IStepwiseNetwork : IFunctionalNetwork
{
    /// <summary>
    /// Number of per-step sets; steps beyond the last use the last set. 0 when the network's per-step normalisation is
    /// switched off (e.g. <see cref="ConvNet"/> without <c>perStepBatchNorm</c>): the forward pass then ignores the step,
    /// every parameter adapts, and algorithms treat the network as a plain <see cref="IFunctionalNetwork"/>.
    /// </summary>
    int StepSets { get; }

    /// <summary>The statistics a plain <see cref="IFunctionalNetwork.Forward"/> and test-time adaptation use.</summary>
    NormalizationStatistics InferenceStatistics { get; }

    /// <summary>Forward pass with the weights and statistics of inner step <paramref name="step"/> (0-based).</summary>
    Tensor Forward(Tensor weights, Tensor input, int step, NormalizationStatistics statistics);

    /// <summary>Whether the inner loop adapts this parameter (false for the per-step normalisation weights).</summary>
    bool AdaptsInInnerLoop(ParameterSlot slot);
}
