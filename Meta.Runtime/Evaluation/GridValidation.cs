using System.Globalization;
using Meta.Algorithms;
using Meta.Tasks;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>Validation losses over a fixed grid of tasks.</summary>
/// <param name="Parameters">The task parameters the grid spans.</param>
/// <param name="Shape">Tasks per parameter.</param>
/// <param name="Axes">The grid values of each parameter (lower corners, seed 000's <c>mgrid</c>).</param>
/// <param name="Losses">Post-adaptation loss per task, row-major over <paramref name="Shape"/> (last parameter fastest).</param>
/// <param name="Mean">Mean loss over all tasks (+∞ when a task's loss is not finite, NaN counting as +∞).</param>
/// <param name="Std">Population standard deviation of the losses.</param>
/// <param name="Worst10Mean">Mean of the worst ⌈10 %⌉ of the tasks.</param>
/// <param name="Before">Each task's loss before adaptation (0 steps), in the order of <paramref name="Losses"/>; null where not measured.</param>
public sealed record GridValidationResult(
    IReadOnlyList<TaskParameter> Parameters, int[] Shape, double[][] Axes, double[] Losses, double Mean, double Std, double Worst10Mean,
    double[]? Before = null)
{
    /// <summary>The median loss over tasks (NaN counting as +∞).</summary>
    public double Median => Divergence.Median(Losses);

    /// <summary>Whether task <paramref name="index"/> diverged (<see cref="Divergence.IsDiverged"/>; without <see cref="Before"/>, only a loss that is not finite).</summary>
    public bool IsDiverged(int index) => Divergence.IsDiverged(Losses[index], Before?[index] ?? double.PositiveInfinity);

    /// <summary>How many tasks diverged (<see cref="IsDiverged"/>).</summary>
    public int Diverged => Enumerable.Range(0, Losses.Length).Count(IsDiverged);

    /// <summary>The loss of the task at <paramref name="coordinates"/>.</summary>
    public double Loss(params int[] coordinates)
    {
        ArgumentNullException.ThrowIfNull(coordinates);
        if (coordinates.Length != Shape.Length) throw new ArgumentException($"expected {Shape.Length} coordinates", nameof(coordinates));
        var index = 0;
        for (var d = 0; d < Shape.Length; d++)
        {
            if ((uint)coordinates[d] >= (uint)Shape[d]) throw new ArgumentOutOfRangeException(nameof(coordinates));
            index = index * Shape[d] + coordinates[d];
        }
        return Losses[index];
    }
}

/// <summary>
/// Seed 000's fixed validation: tasks on a grid over the parameter box (value_d = min_d + i·step_d for
/// i &lt; ⌈range_d / step_d⌉; sinusoids: amplitude step 0.2 and phase step 10° give 25 × 18 tasks, and frequency step 0.2
/// adds × 8). Each task adapts from the meta-parameters with the algorithm's own <c>Adapt</c> (MAML: plain SGD at α) on
/// K support points for S steps and is scored by its loss on a fresh batch of K query points. The points are drawn once,
/// at construction, from the caller's generator, so successive validations of one run see the same data (the seed drew
/// new points every time).
/// </summary>
public sealed class GridValidation : IDisposable
{
    private readonly Episode _episode;
    private readonly int _chunk;

    /// <summary>
    /// Builds the grid for <paramref name="family"/> with <paramref name="steps"/> per parameter (null: the family's
    /// defaults) and draws its support and query points from <paramref name="generator"/>.
    /// </summary>
    public GridValidation(IContinuousTaskFamily family, Generator generator, IReadOnlyList<double>? steps = null,
        int shots = SamplerDefaults.ValidationShots, int adaptSteps = SamplerDefaults.ValidationSteps, int chunk = 1024)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(generator);
        steps ??= family.DefaultValidationSteps;
        var parameters = family.Parameters;
        if (steps.Count != parameters.Count) throw new ArgumentException($"validation grid: {steps.Count} steps given for {parameters.Count} task parameters", nameof(steps));
        if (shots < 1) throw new ArgumentOutOfRangeException(nameof(shots), shots, "validation needs at least one support point");
        if (adaptSteps < 0) throw new ArgumentOutOfRangeException(nameof(adaptSteps), adaptSteps, "adaptation steps must be ≥ 0");
        if (chunk < 1) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "the chunk must hold at least one task");
        Parameters = parameters;
        Shots = shots;
        AdaptSteps = adaptSteps;
        _chunk = chunk;
        Axes = new double[parameters.Count][];
        long tasks = 1;
        for (var d = 0; d < parameters.Count; d++)
        {
            Axes[d] = Axis(parameters[d], steps[d]);
            tasks *= Axes[d].Length;
            if (tasks > 10_000_000) throw new ArgumentException($"validation grid: more than 10,000,000 tasks; use a larger {parameters[d].Name} step", nameof(steps));
        }
        Shape = [.. Axes.Select(a => a.Length)];
        Tasks = (int)tasks;

        using var scope = NewDisposeScope();
        var values = new double[Tasks * parameters.Count];
        var coordinates = new int[parameters.Count];
        for (var t = 0; t < Tasks; t++)
        {
            var rest = t;
            for (var d = parameters.Count - 1; d >= 0; d--)
            {
                coordinates[d] = rest % Shape[d];
                rest /= Shape[d];
            }
            for (var d = 0; d < parameters.Count; d++) values[t * parameters.Count + d] = Axes[d][coordinates[d]];
        }
        var grid = tensor(values, [Tasks, parameters.Count], ScalarType.Float64).to_type(family.DType);
        var episode = family.EpisodeFor(grid, shots, shots, generator);
        _episode = new Episode(episode.SupportX.contiguous().DetachFromDisposeScope(), episode.SupportY.contiguous().DetachFromDisposeScope(),
            episode.QueryX.contiguous().DetachFromDisposeScope(), episode.QueryY.contiguous().DetachFromDisposeScope());
    }

    /// <summary>The task parameters the grid spans.</summary>
    public IReadOnlyList<TaskParameter> Parameters { get; }

    /// <summary>The grid values of each parameter.</summary>
    public double[][] Axes { get; }

    /// <summary>Tasks per parameter.</summary>
    public int[] Shape { get; }

    /// <summary>Number of tasks.</summary>
    public int Tasks { get; }

    /// <summary>Support (and query) points per task.</summary>
    public int Shots { get; }

    /// <summary>Adaptation steps per task.</summary>
    public int AdaptSteps { get; }

    /// <summary>The protocol as one sentence.</summary>
    public string Protocol => string.Create(CultureInfo.InvariantCulture,
        $"fixed validation grid of {Tasks} tasks ({string.Join(" × ", Shape)} over {string.Join(", ", Parameters.Select(p => p.Symbol))}); {AdaptSteps} adaptation steps on K = {Shots} points; loss on a fresh batch of {Shots} points");

    /// <summary>
    /// Adapts every grid task from <paramref name="metaParameters"/> and returns the per-task losses, and each task's loss
    /// before adaptation (the reference of <see cref="Divergence.IsDiverged"/>).
    /// </summary>
    public GridValidationResult Evaluate(IMetaAlgorithm algorithm, Tensor metaParameters, Meta.Hosting.PhaseProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(metaParameters);
        var losses = new double[Tasks];
        var before = new double[Tasks];
        for (var start = 0; start < Tasks; start += _chunk)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(_chunk, Tasks - start);
            var part = _episode.Slice(start, count);
            foreach (var (steps, into) in new[] { (0, before), (AdaptSteps, losses) })
            {
                var fast = algorithm.Adapt(metaParameters, part.SupportX, part.SupportY, steps);
                using var noGrad = no_grad();
                var loss = algorithm.Loss.PerTask(algorithm.Network.Forward(fast, part.QueryX), part.QueryY).to_type(ScalarType.Float64);
                loss.data<double>().CopyTo(into, start);
            }
            Divergence.Reference(before[start..(start + count)], Divergence.ConstantPredictionLoss(algorithm.Loss, part.QueryY)).CopyTo(before, start);
            progress?.Advance(count);
        }
        // A NaN task counts as +∞ in the summary numbers, so they say that something diverged.
        double[] ranked = [.. losses.Select(v => double.IsNaN(v) ? double.PositiveInfinity : v)];
        var (mean, std) = Sampling.SamplerMetrics.MeanStd(ranked);
        return new GridValidationResult(Parameters, (int[])Shape.Clone(), Axes, losses, mean, std, WorstMean(ranked, 0.1), before);
    }

    /// <summary>Mean of the worst ⌈<paramref name="fraction"/>·n⌉ values (at least one).</summary>
    public static double WorstMean(IReadOnlyList<double> losses, double fraction)
    {
        ArgumentNullException.ThrowIfNull(losses);
        if (losses.Count == 0) return double.NaN;
        var k = Math.Clamp((int)Math.Ceiling(fraction * losses.Count - 1e-9), 1, losses.Count);
        return losses.OrderDescending().Take(k).Average();
    }

    /// <summary>min + i·step for i &lt; ⌈range / step⌉ (tolerance 1e-9 relative, so exact multiples do not gain a value).</summary>
    public static double[] Axis(TaskParameter parameter, double step)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!(step > 0) || !double.IsFinite(step)) throw new ArgumentException($"validation grid: the {parameter.Name} step must be a number > 0, got {step}");
        var width = parameter.Width;
        if (width / step > 10_000_000) throw new ArgumentException($"validation grid: the {parameter.Name} step {step} gives more than 10,000,000 values");
        var count = width > 0 ? (int)Math.Max(1, Math.Ceiling(width / step * (1 - 1e-9))) : 1;
        var axis = new double[count];
        for (var i = 0; i < count; i++) axis[i] = parameter.Min + i * step;
        return axis;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _episode.SupportX.Dispose();
        _episode.SupportY.Dispose();
        _episode.QueryX.Dispose();
        _episode.QueryY.Dispose();
    }
}
