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

    /// <summary>The schedule of kind <paramref name="kind"/> from <paramref name="learningRate"/> over <paramref name="iterations"/>.</summary>
    public static ILearningRateSchedule Schedule(LrSchedule kind, double learningRate, double minimum, long iterations) => kind switch
    {
        LrSchedule.Constant => new ConstantRate(learningRate),
        LrSchedule.LinearDecay => new LinearDecay(learningRate, iterations),
        LrSchedule.Cosine => new CosineAnnealing(learningRate, minimum, iterations),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "constant, linear-decay or cosine"),
    };
}
