using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// Model-Agnostic Meta-Learning (Finn et al. 2017), task-batched. Every task starts from the shared θ [P]; S inner SGD
/// steps at rate α adapt all T tasks' fast weights [T, P] at once (one autograd call per step yields every task's own
/// gradient, because the tasks' losses are summed and tasks do not share fast weights). The outer loss is the mean of
/// the tasks' post-adaptation query losses (optionally weighted per task), differentiated w.r.t. θ:
/// second order through the inner steps, or first order (FOMAML), which treats the inner gradients as constants.
/// </summary>
public sealed class Maml
{
    private readonly IFunctionalNetwork _network;

    /// <summary>Creates MAML over <paramref name="network"/>.</summary>
    public Maml(IFunctionalNetwork network, int innerSteps, double innerLr, bool firstOrder)
    {
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "inner steps must be at least 1");
        if (!(innerLr > 0)) throw new ArgumentOutOfRangeException(nameof(innerLr), innerLr, "the inner learning rate must be > 0");
        _network = network;
        InnerSteps = innerSteps;
        InnerLr = innerLr;
        FirstOrder = firstOrder;
    }

    /// <summary>The network being meta-learned.</summary>
    public IFunctionalNetwork Network => _network;

    /// <summary>Inner SGD steps S during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>Inner learning rate α.</summary>
    public double InnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <summary>Display name (a metric tag).</summary>
    public string Name => FirstOrder ? "fomaml" : "maml";

    /// <summary>
    /// Adapts θ to every task of the support set: returns fast weights [T, P]. With <paramref name="differentiable"/>
    /// the result keeps the graph through all steps (second order); otherwise each step's gradient is a constant.
    /// </summary>
    public Tensor Adapt(Tensor theta, Tensor supportX, Tensor supportY, int steps, bool differentiable)
    {
        CheckTheta(theta);
        var fast = theta.unsqueeze(0).expand(supportX.shape[0], theta.shape[0]);
        for (var s = 0; s < steps; s++)
            fast = InnerStep(fast, supportX, supportY, differentiable);
        return fast;
    }

    /// <summary>
    /// One meta-step on <paramref name="episode"/>: adapt, take the query losses, and return the outer gradient for θ.
    /// <paramref name="taskWeights"/> [T] (optional) multiplies each task's query loss before the mean.
    /// θ itself is not modified; the optimiser applies the gradient.
    /// </summary>
    public MetaStepResult MetaStep(Tensor theta, RegressionEpisode episode, Tensor? taskWeights = null)
    {
        CheckTheta(theta);
        if (episode.SupportX.shape[2] != _network.Inputs || episode.SupportY.shape[2] != _network.Outputs)
            throw new ArgumentException($"episode features ({episode.SupportX.shape[2]} in, {episode.SupportY.shape[2]} out) do not fit the network ({_network.Inputs} in, {_network.Outputs} out)");
        if (taskWeights is not null && (taskWeights.dim() != 1 || taskWeights.shape[0] != episode.Tasks))
            throw new ArgumentException($"task weights must be [{episode.Tasks}]");

        using var leaf = theta.detach().requires_grad_(true);
        var fast = Adapt(leaf, episode.SupportX, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = TaskLoss.MeanSquaredError(_network.Forward(fast, episode.QueryX), episode.QueryY);
        var metaLoss = taskWeights is null ? taskLosses.mean() : (taskLosses * taskWeights).mean();
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach());
    }

    /// <summary>
    /// One SGD step of every task's fast weights [T, P] on its own loss: φ ← φ − α·∇φ L(φ). Differentiable keeps the
    /// graph through the gradient (second order); otherwise the gradient is taken at a detached copy (first order).
    /// </summary>
    public Tensor InnerStep(Tensor fast, Tensor x, Tensor y, bool differentiable)
    {
        if (differentiable)
        {
            var loss = TaskLoss.SummedMeanSquaredError(_network.Forward(fast, x), y);
            var grad = torch.autograd.grad([loss], [fast], retain_graph: true, create_graph: true)[0];
            return fast.add(grad, -InnerLr);
        }

        using var enabled = torch.enable_grad();
        var point = fast.detach().requires_grad_(true);
        var pointLoss = TaskLoss.SummedMeanSquaredError(_network.Forward(point, x), y);
        var pointGrad = torch.autograd.grad([pointLoss], [point])[0];
        return fast.add(pointGrad, -InnerLr);
    }

    private void CheckTheta(Tensor theta)
    {
        if (theta.dim() != 1 || theta.shape[0] != _network.Layout.Count)
            throw new ArgumentException($"θ must be a flat vector of {_network.Layout.Count} parameters, got [{string.Join(", ", theta.shape)}]");
    }
}
