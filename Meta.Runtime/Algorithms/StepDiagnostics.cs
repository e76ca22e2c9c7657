using Meta.Functional;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// The numbers the learned-rate and learned-curvature algorithms report in <see cref="MetaStepResult.Diagnostics"/>: the
/// range of their learned rates, how far each task's inner loop moved its support loss and the
/// conditioning of curvature matrices. Computed without autograd, from detached values.
/// </summary>
internal sealed class StepDiagnostics
{
    private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

    /// <summary>The collected numbers.</summary>
    public IReadOnlyDictionary<string, double> Values => _values;

    /// <summary><c>rates.min</c>, <c>rates.max</c>, <c>rates.mean</c> and <c>rates.negative</c> (the fraction below 0) of the effective rates.</summary>
    public StepDiagnostics Rates(Tensor rates)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var r = rates.detach().to_type(ScalarType.Float64);
        _values["rates.min"] = r.min().item<double>();
        _values["rates.max"] = r.max().item<double>();
        _values["rates.mean"] = r.mean().item<double>();
        _values["rates.negative"] = r.lt(0).to_type(ScalarType.Float64).mean().item<double>();
        return this;
    }

    /// <summary>
    /// <c>inner.ratio.max</c> and <c>inner.ratio.median</c>: per task, the support loss after the inner loop over the
    /// support loss at θ (above 1: the inner loop made that task worse).
    /// </summary>
    public StepDiagnostics InnerLoop(IFunctionalNetwork network, ITaskLoss loss, Tensor theta, Tensor fast, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var start = loss.PerTask(network.Forward(Algorithms.InnerLoop.Expand(theta.detach(), x.Dims()[0]), x), y).to_type(ScalarType.Float64);
        var end = loss.PerTask(network.Forward(fast.detach(), x), y).to_type(ScalarType.Float64);
        var ratio = end / start;
        _values["inner.ratio.max"] = ratio.max().item<double>();
        _values["inner.ratio.median"] = ratio.median().item<double>();
        return this;
    }

    /// <summary>
    /// Over all <paramref name="matrices"/>: <c>curvature.sigma.min</c> and <c>curvature.sigma.max</c> (smallest and
    /// largest singular value), <c>curvature.norm.max</c> (largest Frobenius norm) and <c>curvature.symmetric.min</c> (the
    /// smallest eigenvalue of a matrix's symmetric part: below 0, the matrix turns some gradient direction uphill).
    /// </summary>
    public StepDiagnostics Curvature(IReadOnlyList<Tensor> matrices)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double sigmaMin = double.PositiveInfinity, sigmaMax = 0, normMax = 0, symmetricMin = double.PositiveInfinity;
        foreach (var matrix in matrices)
        {
            var m = matrix.detach().to_type(ScalarType.Float64);
            if (!m.isfinite().all().item<bool>())
            {
                sigmaMin = sigmaMax = normMax = symmetricMin = double.NaN;
                break;
            }
            var sigma = linalg.svdvals(m);
            sigmaMin = Math.Min(sigmaMin, sigma.min().item<double>());
            sigmaMax = Math.Max(sigmaMax, sigma.max().item<double>());
            normMax = Math.Max(normMax, m.norm().item<double>());
            symmetricMin = Math.Min(symmetricMin, linalg.eigvalsh((m + m.t()) / 2).min().item<double>());
        }
        _values["curvature.sigma.min"] = sigmaMin;
        _values["curvature.sigma.max"] = sigmaMax;
        _values["curvature.norm.max"] = normMax;
        _values["curvature.symmetric.min"] = symmetricMin;
        return this;
    }
}
