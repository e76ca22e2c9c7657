using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>Per-task losses with a leading task dimension.</summary>
public static class TaskLoss
{
    /// <summary>Mean squared error per task: predictions and targets [T, N, D] → [T].</summary>
    public static Tensor MeanSquaredError(Tensor prediction, Tensor target) => (prediction - target).square().mean([1, 2]);
}
