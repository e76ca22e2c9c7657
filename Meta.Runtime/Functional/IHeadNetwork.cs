using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// A network that can run its body (every layer but the last) and its head (the last layer) separately, so that an
/// algorithm that adapts only the head (ANIL) computes the body's features once per meta-step instead of once per inner
/// step. The flat layout keeps the body first: body weights are entries [0, <see cref="HeadOffset"/>), head weights the
/// rest, and <c>Forward(w, x) = Head(w[:, HeadOffset:], Features(w[:, :HeadOffset], x))</c>.
/// </summary>
public interface IHeadNetwork : IFunctionalNetwork
{
    /// <summary>Index of the head's first entry in the flat layout (the number of body parameters).</summary>
    long HeadOffset { get; }

    /// <summary>The body: <paramref name="bodyWeights"/> [T, HeadOffset], <paramref name="input"/> [T, N, Inputs] → features [T, N, F].</summary>
    Tensor Features(Tensor bodyWeights, Tensor input);

    /// <summary>The head: <paramref name="headWeights"/> [T, P − HeadOffset], <paramref name="features"/> [T, N, F] → [T, N, Outputs].</summary>
    Tensor Head(Tensor headWeights, Tensor features);
}
