using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// The loop's global meta-gradient norm clip (<c>--meta-grad-clip</c>): the whole meta-gradient (every meta-parameter,
/// after averaging over tasks and ranks) is scaled by c / ‖g‖₂ when its L2 norm ‖g‖₂ exceeds c, so its direction is kept
/// and only its length is bounded (Pascanu, Mikolov &amp; Bengio 2013).
/// </summary>
public static class GradientClip
{
    /// <summary>The L2 norm of <paramref name="gradient"/> (one host sync); NaN or ∞ when an entry is.</summary>
    public static double Norm(Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (gradient.device_type == TorchSharp.DeviceType.CPU && gradient.is_contiguous() && !gradient.requires_grad)
        {
            // A dense CPU gradient: the float64 sum of squares read in place, no tensor made.
            if (gradient.dtype == ScalarType.Float32) return Math.Sqrt(SumOfSquares(InPlaceUpdate.Span<float>(gradient)));
            if (gradient.dtype == ScalarType.Float64) return Math.Sqrt(SumOfSquares(InPlaceUpdate.Span<double>(gradient)));
        }
        using var noGrad = no_grad();
        using var norm = gradient.detach().to(ScalarType.Float64).norm();
        return norm.ToDouble();
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var x in values) sum += (double)x * x;
        return sum;
    }

    private static double SumOfSquares(ReadOnlySpan<double> values)
    {
        var sum = 0.0;
        foreach (var x in values) sum += x * x;
        return sum;
    }

    /// <summary>
    /// Scales <paramref name="gradient"/> in place to norm <paramref name="maxNorm"/> when its norm
    /// <paramref name="norm"/> (from <see cref="Norm"/>) is above it. Returns whether it clipped. A
    /// <paramref name="maxNorm"/> of 0 is off; a non-finite <paramref name="norm"/> is never clipped (the non-finite
    /// policy decides about such a step).
    /// </summary>
    public static bool Apply(Tensor gradient, double maxNorm, double norm)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (maxNorm < 0 || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "the meta-gradient clip must be finite and ≥ 0 (0 is off)");
        if (maxNorm == 0 || !double.IsFinite(norm) || norm <= maxNorm) return false;
        using var noGrad = no_grad();
        gradient.mul_(maxNorm / norm);
        return true;
    }
}
