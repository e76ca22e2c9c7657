using System.Globalization;
using static TorchSharp.torch;

namespace Meta;

/// <summary>How an algorithm's learned inner learning rates are stored in its meta-parameters.</summary>
public enum RateParameterization
{
    /// <summary>
    /// The meta-parameter is the rate itself (Meta-SGD's and MAML++'s papers): gradient steps can turn a rate negative
    /// (gradient ascent in the inner loop) or make it large enough for the inner loop to blow up.
    /// </summary>
    Direct,

    /// <summary>rate = bound · sigmoid(raw): every rate stays in (0, bound) whatever the meta-optimiser does.</summary>
    Sigmoid,
}

/// <summary>How Meta-SGD's learned rates start.</summary>
public enum RateInitialization
{
    /// <summary>Every rate at the inner learning rate.</summary>
    InnerLr,

    /// <summary>Each rate drawn independently from a uniform range with the run's weight seed (Li et al.: U[0.005, 0.1] for regression).</summary>
    Uniform,
}

/// <summary>
/// The map from stored meta-parameters to learned inner rates, shared by Meta-SGD's α, MAML++'s LSLR and
/// Meta-Curvature's LSLR. <see cref="Direct"/> stores the rates as they are; a sigmoid mapping stores
/// logit(rate / <see cref="Bound"/>) so that the rate is always in (0, <see cref="Bound"/>). Training and test-time
/// adaptation go through the same map.
/// </summary>
public sealed record LearnedRateMapping
{
    private LearnedRateMapping(RateParameterization parameterization, double bound)
    {
        Parameterization = parameterization;
        Bound = bound;
    }

    /// <summary>The rates are the meta-parameters themselves (the papers' exact behaviour).</summary>
    public static LearnedRateMapping Direct { get; } = new(RateParameterization.Direct, double.PositiveInfinity);

    /// <summary>rate = <paramref name="bound"/> · sigmoid(raw), in (0, <paramref name="bound"/>); the bound must be finite and above 0.</summary>
    public static LearnedRateMapping Sigmoid(double bound)
    {
        if (!(bound > 0) || !double.IsFinite(bound))
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "the bound of the learned rates must be finite and > 0");
        return new LearnedRateMapping(RateParameterization.Sigmoid, bound);
    }

    /// <summary>The mapping <paramref name="parameterization"/> with upper bound <paramref name="bound"/> (ignored by <see cref="RateParameterization.Direct"/>).</summary>
    public static LearnedRateMapping Of(RateParameterization parameterization, double bound) =>
        parameterization switch
        {
            RateParameterization.Direct => Direct,
            RateParameterization.Sigmoid => Sigmoid(bound),
            _ => throw new ArgumentOutOfRangeException(nameof(parameterization), parameterization, "expected Direct or Sigmoid"),
        };

    /// <summary>The parameterisation.</summary>
    public RateParameterization Parameterization { get; }

    /// <summary>The exclusive upper bound of every rate (∞ for <see cref="RateParameterization.Direct"/>).</summary>
    public double Bound { get; }

    /// <summary>The rates of stored values <paramref name="raw"/> (differentiable; <paramref name="raw"/> itself when direct).</summary>
    public Tensor ToRates(Tensor raw) =>
        Parameterization == RateParameterization.Direct ? raw : raw.sigmoid().mul(Bound);

    /// <summary>The stored value of rate <paramref name="rate"/>; throws unless the mapping can represent it (in (0, bound) for a sigmoid).</summary>
    public double FromRate(double rate)
    {
        if (Parameterization == RateParameterization.Direct) return rate;
        if (!(rate > 0) || !(rate < Bound))
            throw new ArgumentOutOfRangeException(nameof(rate), rate,
                string.Create(CultureInfo.InvariantCulture, $"an initial learned rate must lie strictly between 0 and the bound {Bound:R} of the sigmoid parameterisation; raise the bound or lower the rate"));
        var p = rate / Bound;
        return Math.Log(p / (1 - p));
    }

    /// <summary>The stored values of <paramref name="rates"/> (each must be representable, see <see cref="FromRate"/>).</summary>
    public Tensor FromRates(Tensor rates)
    {
        if (Parameterization == RateParameterization.Direct) return rates.clone();
        using var noGrad = no_grad();
        var min = rates.min().item<double>();
        var max = rates.max().item<double>();
        FromRate(min);
        FromRate(max);
        var p = rates / Bound;
        return (p / (1 - p)).log();
    }

    /// <summary>The map in words, for exports: <c>rate = raw</c> or <c>rate = 0.1 * sigmoid(raw)</c>.</summary>
    public string Formula => Parameterization == RateParameterization.Direct
        ? "rate = raw"
        : string.Create(CultureInfo.InvariantCulture, $"rate = {Bound:R} * sigmoid(raw)");
}
