using Meta.Algorithms;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// An optional capability of a functional network: hand-derived derivatives of a task loss w.r.t. the fast weights,
/// computed as a few batched products per layer without an autograd graph. An algorithm that knows the capability (MAML)
/// uses it when <see cref="SupportsAnalytic"/> says yes for its loss; every other network, loss and algorithm goes
/// through autograd as before. Implementations must agree with autograd to float64 rounding (the tests check 1e-12).
/// </summary>
public interface IAnalyticNetwork : IFunctionalNetwork
{
    /// <summary>Whether <see cref="AnalyticPass"/> can differentiate <paramref name="loss"/> for this network.</summary>
    bool SupportsAnalytic(ITaskLoss loss);

    /// <summary>
    /// A forward pass of <paramref name="input"/> [T, N, …] at fast weights <paramref name="weights"/> [T, P] against
    /// <paramref name="target"/>, keeping what the backward pass and Hessian-vector products need. Tensors it creates
    /// belong to the caller's dispose scope. No autograd history is recorded or needed.
    /// </summary>
    IAnalyticPass AnalyticPass(Tensor weights, Tensor input, Tensor target, ITaskLoss loss);
}

/// <summary>
/// One cached forward pass of an <see cref="IAnalyticNetwork"/>: task t's loss L_t is its mean loss over its points.
/// Tasks do not share weights, so every quantity is per task and batched over the leading dimension.
/// </summary>
public interface IAnalyticPass
{
    /// <summary>The network's output [T, N, Outputs].</summary>
    Tensor Output { get; }

    /// <summary>Each task's mean loss L_t over its points: [T].</summary>
    Tensor TaskLosses();

    /// <summary>
    /// ∂/∂w_t of c_t·L_t for every task: [T, P], where c_t = <paramref name="scale"/> × <paramref name="taskScale"/>[t]
    /// (<paramref name="taskScale"/> [T] optional). With scale 1 and no task scale this is every task's own inner gradient.
    /// </summary>
    Tensor Gradient(double scale = 1.0, Tensor? taskScale = null);

    /// <summary>
    /// H_t v_t for every task, H_t the Hessian of L_t w.r.t. task t's weights at this pass's point and
    /// <paramref name="direction"/> [T, P] the v_t: [T, P] (Pearlmutter's R-operator, no autograd).
    /// </summary>
    Tensor HessianVectorProduct(Tensor direction);
}
