using Meta.Functional;
using Meta.Tasks;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// A meta-learning algorithm over the task-batched functional core. Everything it meta-learns is one flat vector of
/// meta-parameters [M]: the network's θ [P] first, then whatever else the algorithm learns (learned inner learning
/// rates, curvature matrices, …). The meta-optimiser updates that vector with the gradient <see cref="MetaStep"/>
/// returns; the algorithm never modifies it.
/// </summary>
public interface IMetaAlgorithm
{
    /// <summary>Short name used as a metric tag (maml, fomaml, reptile, …).</summary>
    string Name { get; }

    /// <summary>The network being meta-learned.</summary>
    IFunctionalNetwork Network { get; }

    /// <summary>Loss per task.</summary>
    ITaskLoss Loss { get; }

    /// <summary>The initial meta-parameters [M] for network weights <paramref name="theta"/> [P] (a new tensor).</summary>
    Tensor InitialMetaParameters(Tensor theta);

    /// <summary>The network-weight part θ [P] of <paramref name="metaParameters"/> (a view).</summary>
    Tensor Weights(Tensor metaParameters);

    /// <summary>
    /// One meta-step: adapt to every task's support set, take the query losses, return the outer gradient w.r.t. the
    /// meta-parameters. <paramref name="taskWeights"/> [T] (optional) multiplies each task's query loss before the mean.
    /// </summary>
    MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null);

    /// <summary>Test-time adaptation: fast weights [T, P] after <paramref name="steps"/> inner steps, without autograd history.</summary>
    Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps);

    /// <summary>
    /// Announces that the next <see cref="MetaStep"/> belongs to meta-iteration <paramref name="iteration"/> (0-based), for
    /// algorithms whose outer objective changes during training (MAML++'s annealed per-step loss weights and derivative
    /// order). A trainer calls it once per iteration before <see cref="MetaStep"/>. The default implementation does
    /// nothing, so algorithms with a fixed objective need not implement it.
    /// </summary>
    void BeginIteration(long iteration) { }

    /// <summary>
    /// Where the meta-parameters hold learned inner learning rates (Meta-SGD's α, the per-layer-per-step rates of MAML++
    /// and Meta-Curvature): (offset, count) ranges of the flat vector. A trainer may give them their own meta learning
    /// rate (<see cref="Training.IMetaOptimizer.ScaleLearningRate"/>). Empty for algorithms that learn no rates.
    /// </summary>
    IReadOnlyList<(long Offset, long Count)> LearnedRateRanges => [];

    /// <summary>
    /// Whether <see cref="MetaStep"/> may run on disjoint slices of one episode at the same time, on different threads,
    /// with the results combined as the task-count-weighted mean (<c>--parallelism tasks</c>, <see cref="Training.TaskParallel"/>).
    /// That holds when the meta-loss and gradient are means over tasks of per-task terms (task weights included), and a
    /// step neither draws random numbers nor changes state shared with other calls (buffers, running statistics): only
    /// <see cref="BeginIteration"/> may change state, and it runs before the step on the calling thread. True by default;
    /// an algorithm for which it does not hold returns false, and its steps then run whole on one thread.
    /// </summary>
    bool TaskParallel => true;

    /// <summary>
    /// The meta-step with its tasks split over <paramref name="splitter"/>'s threads inside the algorithm (or its
    /// network's kernel), when it can do that more cheaply than <see cref="Training.TaskParallel"/>'s split into
    /// sub-episodes; null to let that split run. The result must be <see cref="MetaStep"/>'s up to rounding. The default
    /// returns null.
    /// </summary>
    MetaStepResult? SplitMetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights, Training.TaskSplitter splitter) => null;
}
