using Meta.Algorithms;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// An optional capability of an <see cref="IAnalyticNetwork"/>: MAML's whole meta-step (inner steps, query gradient and,
/// for second order, the Hessian-vector products carried back through the steps) computed by the network's own code,
/// task by task, without one libtorch call per operation. MAML asks for it first; where it answers null (a device,
/// dtype or memory layout it does not handle), MAML composes <see cref="IAnalyticNetwork.AnalyticPass"/> calls instead.
/// The result must equal that composition to float64 rounding (the MLP's tests check 1e-12 against autograd).
/// </summary>
public interface IMamlKernel : IAnalyticNetwork
{
    /// <summary>
    /// The meta-step of MAML with <paramref name="innerSteps"/> inner SGD steps at <paramref name="innerLr"/> from θ
    /// <paramref name="theta"/> [P] on <paramref name="episode"/>, second order unless <paramref name="firstOrder"/>, the
    /// tasks' query losses weighted by <paramref name="taskWeights"/> [T] when given; null when this kernel cannot run on
    /// these tensors. The result's tensors have no autograd history. A <paramref name="splitter"/> with more than one thread
    /// may run the tasks on its threads (<c>--parallelism tasks</c>); the result must not depend on it beyond rounding.
    /// </summary>
    MetaStepResult? MamlMetaStep(Tensor theta, Episode episode, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder, Tensor? taskWeights,
        TaskSplitter? splitter = null);
}
