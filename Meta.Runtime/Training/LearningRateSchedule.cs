namespace Meta.Training;

/// <summary>A learning rate as a function of the (0-based) meta-iteration.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate to use for iteration <paramref name="iteration"/>.</summary>
    double At(long iteration);
}

/// <summary>Schedule helpers.</summary>
public static class LearningRateScheduleExtensions
{
    /// <summary>Sets <paramref name="optimizer"/>'s learning rate to the schedule's value for <paramref name="iteration"/>.</summary>
    public static void Apply(this ILearningRateSchedule schedule, IMetaOptimizer optimizer, long iteration) =>
        optimizer.LearningRate = schedule.At(iteration);
}

/// <summary>A constant learning rate.</summary>
public sealed record ConstantRate(double LearningRate) : ILearningRateSchedule
{
    /// <inheritdoc />
    public double At(long iteration) => LearningRate;
}

/// <summary>
/// Linear annealing from <see cref="Initial"/> at iteration 0 to 0 at <see cref="TotalIterations"/> (and 0 after):
/// lr(i) = lr₀·(1 − i/N). Reptile's outer step size ε is annealed this way (Nichol et al. 2018).
/// </summary>
public sealed record LinearDecay : ILearningRateSchedule
{
    /// <summary>Creates the schedule; <paramref name="initial"/> ≥ 0, <paramref name="totalIterations"/> ≥ 1.</summary>
    public LinearDecay(double initial, long totalIterations)
    {
        if (!(initial >= 0) || !double.IsFinite(initial)) throw new ArgumentOutOfRangeException(nameof(initial), initial, "the initial rate must be finite and ≥ 0");
        if (totalIterations < 1) throw new ArgumentOutOfRangeException(nameof(totalIterations), totalIterations, "the number of iterations must be at least 1");
        Initial = initial;
        TotalIterations = totalIterations;
    }

    /// <summary>The rate at iteration 0.</summary>
    public double Initial { get; }

    /// <summary>The iteration at which the rate reaches 0.</summary>
    public long TotalIterations { get; }

    /// <inheritdoc />
    public double At(long iteration) =>
        Initial * (1 - (double)Math.Clamp(iteration, 0, TotalIterations) / TotalIterations);
}

/// <summary>
/// Cosine annealing (Loshchilov &amp; Hutter 2017, without restarts) from <see cref="Maximum"/> at iteration 0 to
/// <see cref="Minimum"/> at <see cref="TotalIterations"/> (and after): lr(i) = min + ½(max − min)(1 + cos(π·i/N)).
/// MAML++ anneals its meta learning rate this way.
/// </summary>
public sealed record CosineAnnealing : ILearningRateSchedule
{
    /// <summary>Creates the schedule; 0 ≤ <paramref name="lrMin"/> ≤ <paramref name="lrMax"/>, <paramref name="totalIterations"/> ≥ 1.</summary>
    public CosineAnnealing(double lrMax, double lrMin, long totalIterations)
    {
        if (!(lrMin >= 0) || !double.IsFinite(lrMin)) throw new ArgumentOutOfRangeException(nameof(lrMin), lrMin, "the minimum rate must be finite and ≥ 0");
        if (!(lrMax >= lrMin) || !double.IsFinite(lrMax)) throw new ArgumentOutOfRangeException(nameof(lrMax), lrMax, "the maximum rate must be finite and ≥ the minimum");
        if (totalIterations < 1) throw new ArgumentOutOfRangeException(nameof(totalIterations), totalIterations, "the number of iterations must be at least 1");
        Maximum = lrMax;
        Minimum = lrMin;
        TotalIterations = totalIterations;
    }

    /// <summary>The rate at iteration 0.</summary>
    public double Maximum { get; }

    /// <summary>The rate at and after <see cref="TotalIterations"/>.</summary>
    public double Minimum { get; }

    /// <summary>Length of the half cosine.</summary>
    public long TotalIterations { get; }

    /// <inheritdoc />
    public double At(long iteration) =>
        Minimum + 0.5 * (Maximum - Minimum) * (1 + Math.Cos(Math.PI * Math.Clamp(iteration, 0, TotalIterations) / TotalIterations));
}
