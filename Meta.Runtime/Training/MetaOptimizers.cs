using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>Builds the meta-optimiser and learning-rate schedule an experiment's options name.</summary>
public static class MetaOptimizers
{
    /// <summary>The optimiser of kind <paramref name="kind"/> over <paramref name="parameters"/> (updated in place).</summary>
    public static IMetaOptimizer Create(MetaOptimizerKind kind, Tensor parameters, double learningRate) => kind switch
    {
        MetaOptimizerKind.Adam => new Adam(parameters, learningRate),
        MetaOptimizerKind.Sgd => new Sgd(parameters, learningRate),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "adam or sgd"),
    };

    /// <summary>
    /// Gives the learned inner learning rates of <paramref name="algorithm"/> (if any) the meta learning rate times
    /// <paramref name="factor"/>: Adam moves every entry by up to its rate per step, which is large next to a learned
    /// rate of 0.01, so learned rates often want a smaller one.
    /// </summary>
    public static void ScaleLearnedRates(IMetaOptimizer optimizer, Meta.Algorithms.IMetaAlgorithm algorithm, double factor)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(algorithm);
        if (factor == 1) return;
        foreach (var (offset, count) in algorithm.LearnedRateRanges) optimizer.ScaleLearningRate(offset, count, factor);
    }

    /// <summary>The schedule of kind <paramref name="kind"/> from <paramref name="learningRate"/> over <paramref name="iterations"/>.</summary>
    public static ILearningRateSchedule Schedule(LrSchedule kind, double learningRate, double minimum, long iterations) => kind switch
    {
        LrSchedule.Constant => new ConstantRate(learningRate),
        LrSchedule.LinearDecay => new LinearDecay(learningRate, iterations),
        LrSchedule.Cosine => new CosineAnnealing(learningRate, minimum, iterations),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "constant, linear-decay or cosine"),
    };
}
