using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>Per-task losses with a leading task dimension.</summary>
public static class TaskLoss
{
    /// <summary>Mean squared error per task: predictions and targets [T, N, D] → [T].</summary>
    public static Tensor MeanSquaredError(Tensor prediction, Tensor target) => (prediction - target).square().mean([1, 2]);

    /// <summary>
    /// Σ over tasks of each task's mean squared error, as one scalar: the inner-loop objective, whose gradient w.r.t.
    /// fast weights [T, P] is every task's own gradient. Every task has the same number of points, so this is the
    /// summed squared error divided by points × outputs: two operations instead of four.
    /// </summary>
    public static Tensor SummedMeanSquaredError(Tensor prediction, Tensor target) =>
        torch.nn.functional.mse_loss(prediction, target, torch.nn.Reduction.Sum) / (prediction.shape[1] * prediction.shape[2]);
}
