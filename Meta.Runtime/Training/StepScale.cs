using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>Per-entry step multipliers of a flat optimiser (<see cref="IMetaOptimizer.ScaleLearningRate"/>), created on first use.</summary>
internal static class StepScale
{
    /// <summary>Multiplies entries [offset, offset + count) of <paramref name="scale"/> (ones until then) by <paramref name="factor"/>.</summary>
    public static void Apply(ref Tensor? scale, Tensor parameters, long offset, long count, double factor)
    {
        if (!(factor > 0) || !double.IsFinite(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "the factor must be finite and > 0");
        if (offset < 0 || count < 0 || offset + count > parameters.Dims()[0])
            throw new ArgumentOutOfRangeException(nameof(count), $"entries {offset}..{offset + count} are outside 0..{parameters.Dims()[0]}");
        using var noGrad = no_grad();
        scale ??= ones_like(parameters).DetachFromDisposeScope();
        scale.narrow(0, offset, count).mul_(factor);
    }
}
