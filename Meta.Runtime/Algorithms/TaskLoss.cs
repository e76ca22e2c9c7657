using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>A loss evaluated per task on task-batched predictions [T, N, …].</summary>
public interface ITaskLoss
{
    /// <summary>Display name.</summary>
    string Name { get; }

    /// <summary>Each task's mean loss over its points: [T].</summary>
    Tensor PerTask(Tensor prediction, Tensor target);

    /// <summary>
    /// Σ over tasks of each task's mean loss, as one scalar: the inner-loop objective, whose gradient w.r.t. fast weights
    /// [T, P] is every task's own gradient. Equal to <c>PerTask(…).sum()</c>, in fewer operations.
    /// </summary>
    Tensor Summed(Tensor prediction, Tensor target);

    /// <summary>Checks that predictions [T, N, outputs] fit targets of this shape and dtype; throws <see cref="ArgumentException"/>.</summary>
    void Check(long[] predictionShape, Tensor target);
}

/// <summary>The built-in task losses.</summary>
public static class TaskLoss
{
    /// <summary>Mean squared error (regression); targets [T, N, outputs].</summary>
    public static ITaskLoss MeanSquaredErrorLoss { get; } = new MeanSquaredErrorImpl();

    /// <summary>Cross-entropy over logits [T, N, classes] and int64 labels [T, N] (classification).</summary>
    public static ITaskLoss CrossEntropyLoss { get; } = new CrossEntropyImpl();

    /// <summary>Mean squared error per task: predictions and targets [T, N, D] → [T].</summary>
    public static Tensor MeanSquaredError(Tensor prediction, Tensor target) => MeanSquaredErrorLoss.PerTask(prediction, target);

    private sealed class MeanSquaredErrorImpl : ITaskLoss
    {
        public string Name => "mse";

        public Tensor PerTask(Tensor prediction, Tensor target) => (prediction - target).square().mean([1, 2]);

        // Every task has the same number of points: the sum of per-task means is the summed squared error over N·D.
        public Tensor Summed(Tensor prediction, Tensor target) =>
            nn.functional.mse_loss(prediction, target, nn.Reduction.Sum) / (prediction.Dims()[1] * prediction.Dims()[2]);

        public void Check(long[] predictionShape, Tensor target)
        {
            if (!target.is_floating_point() || target.dim() != 3 || !target.Dims().SequenceEqual(predictionShape))
                throw new ArgumentException($"mean squared error needs floating-point targets of the predictions' shape [{string.Join(", ", predictionShape)}], got [{string.Join(", ", target.Dims())}] {target.dtype}");
        }
    }

    private sealed class CrossEntropyImpl : ITaskLoss
    {
        public string Name => "cross-entropy";

        public Tensor PerTask(Tensor prediction, Tensor target)
        {
            var (t, n, c) = (prediction.Dims()[0], prediction.Dims()[1], prediction.Dims()[2]);
            return nn.functional.cross_entropy(prediction.reshape(t * n, c), target.reshape(t * n), reduction: nn.Reduction.None).view(t, n).mean([1]);
        }

        public Tensor Summed(Tensor prediction, Tensor target)
        {
            var (t, n, c) = (prediction.Dims()[0], prediction.Dims()[1], prediction.Dims()[2]);
            return nn.functional.cross_entropy(prediction.reshape(t * n, c), target.reshape(t * n), reduction: nn.Reduction.Sum) / n;
        }

        public void Check(long[] predictionShape, Tensor target)
        {
            if (target.dtype != ScalarType.Int64 || target.dim() != 2 || target.Dims()[0] != predictionShape[0] || target.Dims()[1] != predictionShape[1])
                throw new ArgumentException($"cross-entropy needs int64 labels [{predictionShape[0]}, {predictionShape[1]}], got [{string.Join(", ", target.Dims())}] {target.dtype}");
        }
    }
}
