using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>One continuous task parameter and its range.</summary>
/// <param name="Name">Lower-case name used in option names (<c>--{name}-block</c>) and file names, e.g. <c>amplitude</c>.</param>
/// <param name="Symbol">Short symbol for plots, e.g. <c>A</c>.</param>
/// <param name="Min">Lower bound.</param>
/// <param name="Max">Upper bound (above <paramref name="Min"/>).</param>
public sealed record TaskParameter(string Name, string Symbol, double Min, double Max)
{
    /// <summary>Max − Min.</summary>
    public double Width => Max - Min;
}

/// <summary>
/// A task family whose tasks are points of a box of D continuous parameters (sinusoids: amplitude, phase, frequency).
/// Grid samplers (priority queues) and the fixed validation grid work with any such family.
/// </summary>
public interface IContinuousTaskFamily
{
    /// <summary>The D parameters, in column order of the parameter tensors.</summary>
    IReadOnlyList<TaskParameter> Parameters { get; }

    /// <summary>The dtype of the tensors produced.</summary>
    ScalarType DType { get; }

    /// <summary>Default queue block size per parameter (seed 000's grid), in the parameters' units.</summary>
    IReadOnlyList<double> DefaultQueueBlocks { get; }

    /// <summary>Default step per parameter of the fixed validation grid (seed 000), in the parameters' units.</summary>
    IReadOnlyList<double> DefaultValidationSteps { get; }

    /// <summary>
    /// An episode for the tasks given by <paramref name="parameters"/> [T, D]: <paramref name="support"/> and
    /// <paramref name="query"/> points per task, drawn independently from <paramref name="generator"/>.
    /// </summary>
    Episode EpisodeFor(Tensor parameters, int support, int query, Generator generator);
}

/// <summary>Checks shared by the continuous families.</summary>
internal static class ContinuousFamilyChecks
{
    /// <summary>Requires <paramref name="parameters"/> to be a floating-point [T, D] tensor with T ≥ 1.</summary>
    public static void Parameters(Tensor parameters, int dimensions)
    {
        if (parameters.dim() != 2 || parameters.Dims()[1] != dimensions || parameters.Dims()[0] < 1 || !parameters.is_floating_point())
            throw new ArgumentException(
                $"task parameters must be a floating-point [tasks, {dimensions}] tensor, got [{string.Join(", ", parameters.Dims())}] {parameters.dtype}");
    }

    /// <summary>Requires support and query sizes of at least 1.</summary>
    public static void Sizes(int support, int query)
    {
        if (support < 1 || query < 1) throw new ArgumentException("support and query sizes must be at least 1");
    }
}
