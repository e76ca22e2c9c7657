using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>Building blocks the algorithms share: per-task inner gradients, the weighted outer mean, input checks.</summary>
internal static class InnerLoop
{
    /// <summary>
    /// Every task's gradient [T, P] of its own loss on (<paramref name="x"/>, <paramref name="y"/>) at fast weights
    /// <paramref name="fast"/> [T, P]: one autograd call on the sum of the tasks' losses. Differentiable keeps the graph
    /// (second order; <paramref name="fast"/> must carry history); otherwise the gradient is taken at a detached copy and
    /// has no history.
    /// </summary>
    public static Tensor Gradient(IFunctionalNetwork network, ITaskLoss loss, Tensor fast, Tensor x, Tensor y, bool differentiable) =>
        Gradient(w => loss.Summed(network.Forward(w, x), y), fast, differentiable);

    /// <summary>The gradient [T, P] of the scalar <paramref name="summedLoss"/>(weights) at <paramref name="fast"/>.</summary>
    public static Tensor Gradient(Func<Tensor, Tensor> summedLoss, Tensor fast, bool differentiable)
    {
        if (differentiable)
            return torch.autograd.grad([summedLoss(fast)], [fast], retain_graph: true, create_graph: true)[0];
        // The forward pass at the detached point is needed only for this gradient: free it now, not at the end of the
        // caller's scope, so that first-order inner loops do not hold every step's activations.
        using var enabled = enable_grad();
        using var once = BatchedOps.FirstOrderOnly();
        using var scope = NewDisposeScope();
        var point = fast.detach().requires_grad_(true);
        return torch.autograd.grad([summedLoss(point)], [point])[0].MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs <paramref name="steps"/> updates from <paramref name="start"/>, each in its own dispose scope, so that only the
    /// new fast weights outlive a step. Disposing a handle does not free what the autograd graph saved for the backward
    /// pass, so this is safe for differentiable inner loops too; it stops temporaries piling up until the caller's scope
    /// ends. <paramref name="start"/> stays the caller's; intermediate results are disposed when replaced.
    /// </summary>
    public static Tensor Iterate(Tensor start, int steps, Func<Tensor, int, Tensor> update)
    {
        var current = start;
        for (var s = 0; s < steps; s++)
        {
            Tensor next;
            using (NewDisposeScope())
                next = update(current, s).MoveToOuterDisposeScope();
            if (!ReferenceEquals(current, start) && !ReferenceEquals(current, next)) current.Dispose();
            current = next;
        }
        return current;
    }

    /// <summary>
    /// Every task's query loss [T] at fast weights <paramref name="fast"/>. The query pass is differentiated once (the outer
    /// gradient), so it is recorded under <see cref="BatchedOps.FirstOrderOnly"/>.
    /// </summary>
    public static Tensor QueryLosses(IFunctionalNetwork network, ITaskLoss loss, Tensor fast, Episode episode)
    {
        using var once = BatchedOps.FirstOrderOnly();
        return loss.PerTask(network.Forward(fast, episode.QueryX), episode.QueryY);
    }

    /// <summary>θ [P] as fast weights [T, P] for <paramref name="tasks"/> tasks (a view, no copy).</summary>
    public static Tensor Expand(Tensor theta, long tasks) => theta.unsqueeze(0).expand(tasks, theta.Dims()[0]);

    /// <summary>The outer loss: the mean over tasks of the (optionally weighted) per-task losses [T].</summary>
    public static Tensor WeightedMean(Tensor taskLosses, Tensor? taskWeights) =>
        taskWeights is null ? taskLosses.mean() : (taskLosses * taskWeights).mean();

    /// <summary>Checks that <paramref name="metaParameters"/> is a flat vector of <paramref name="count"/> entries.</summary>
    public static void CheckMetaParameters(Tensor metaParameters, long count, string what)
    {
        if (metaParameters.dim() != 1 || metaParameters.Dims()[0] != count)
            throw new ArgumentException($"the meta-parameters must be a flat vector of {count} entries ({what}), got [{string.Join(", ", metaParameters.Dims())}]");
        if (!metaParameters.is_floating_point())
            throw new ArgumentException($"the meta-parameters must be floating point, got {metaParameters.dtype}");
    }

    /// <summary>Checks that θ is a flat vector of the network's P parameters.</summary>
    public static void CheckTheta(IFunctionalNetwork network, Tensor theta)
    {
        if (theta.dim() != 1 || theta.Dims()[0] != network.Layout.Count)
            throw new ArgumentException($"θ must be a flat vector of {network.Layout.Count} parameters, got [{string.Join(", ", theta.Dims())}]");
    }

    /// <summary>Checks a support set given to a test-time <c>Adapt</c>: inputs [T, K, …] and matching targets.</summary>
    public static void CheckSupport(IFunctionalNetwork network, ITaskLoss loss, Tensor supportX, Tensor supportY, int steps)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "the number of adaptation steps must be ≥ 0");
        if (supportX.dim() < 3) throw new ArgumentException($"support inputs must be [tasks, points, features…], got [{string.Join(", ", supportX.Dims())}]");
        var features = supportX.Dims().Skip(2).Aggregate(1L, (a, b) => a * b);
        if (supportX.dim() == 3 && features != network.Inputs)
            throw new ArgumentException($"support inputs have {features} features; the network takes {network.Inputs}");
        loss.Check([supportX.Dims()[0], supportX.Dims()[1], network.Outputs], supportY);
    }

    /// <summary>Checks an episode (and task weights) against the network and loss before anything reaches autograd.</summary>
    public static void CheckEpisode(IFunctionalNetwork network, ITaskLoss loss, Episode episode, Tensor? taskWeights) =>
        AlgorithmChecks.Episode(network, loss, episode, taskWeights);

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt; 0.</summary>
    public static double Positive(double value, string name, string what)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{what} must be finite and > 0");
        return value;
    }
}
