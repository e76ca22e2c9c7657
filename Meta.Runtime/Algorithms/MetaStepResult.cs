using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>What one meta-step produced: the outer gradient for θ, the meta-loss, and every task's own query loss.</summary>
/// <param name="Gradient">∂(meta-loss)/∂θ, shape [P], no autograd history.</param>
/// <param name="MetaLoss">The (weighted) mean post-adaptation query loss, a detached scalar.</param>
/// <param name="TaskLosses">Each task's post-adaptation query loss under the pre-update θ, detached [T].</param>
public sealed record MetaStepResult(Tensor Gradient, Tensor MetaLoss, Tensor TaskLosses)
{
    /// <summary>
    /// Optional numbers an algorithm reports about this step for diagnosis (e.g. the range of its learned rates, its
    /// conjugate-gradient residual), by metric-style name (<c>rates.min</c>, <c>cg.residual</c>). Null when it reports none.
    /// </summary>
    public IReadOnlyDictionary<string, double>? Diagnostics { get; init; }
}
