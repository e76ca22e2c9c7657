using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>Task-batched tensor operations with pinned semantics.</summary>
public static class BatchedOps
{
    /// <summary>
    /// bias + input @ weights for a batch of tasks: <paramref name="input"/> [T, N, I], <paramref name="weights"/> [T, I, O],
    /// <paramref name="bias"/> broadcastable to [T, N, O]. One fused kernel.
    /// </summary>
    /// <remarks>
    /// TorchSharp 0.107's binding of <c>baddbmm</c> rotates its arguments: <c>torch.baddbmm(a, b, c)</c> computes
    /// <c>c + a @ b</c>. This wrapper is the one place that knows, and a unit test pins the semantics so that an upstream
    /// fix shows up as a failing test instead of silently wrong results.
    /// </remarks>
    public static Tensor AddBatchMatMul(Tensor bias, Tensor input, Tensor weights) => torch.baddbmm(input, weights, bias);
}
