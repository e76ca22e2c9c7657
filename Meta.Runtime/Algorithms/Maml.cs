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
/// MAML meta-learns θ only: its meta-parameters are θ.
/// </summary>
public sealed class Maml : IMetaAlgorithm
{
    /// <summary>Creates MAML over <paramref name="network"/> with the mean-squared-error loss (regression).</summary>
    public Maml(IFunctionalNetwork network, int innerSteps, double innerLr, bool firstOrder)
        : this(network, TaskLoss.MeanSquaredErrorLoss, innerSteps, innerLr, firstOrder) { }

    /// <summary>Creates MAML over <paramref name="network"/> with per-task loss <paramref name="loss"/>.</summary>
    public Maml(IFunctionalNetwork network, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder)
    {
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "inner steps must be at least 1");
        if (!(innerLr > 0) || !double.IsFinite(innerLr)) throw new ArgumentOutOfRangeException(nameof(innerLr), innerLr, "the inner learning rate must be > 0");
        Network = network;
        Loss = loss;
        InnerSteps = innerSteps;
        InnerLr = innerLr;
        FirstOrder = firstOrder;
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>Inner SGD steps S during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>Inner learning rate α.</summary>
    public double InnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <inheritdoc />
    public string Name => FirstOrder ? "fomaml" : "maml";

    /// <inheritdoc />
    public Tensor InitialMetaParameters(Tensor theta)
    {
        CheckTheta(theta);
        return theta.detach().clone();
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters;

    /// <summary>
    /// Adapts θ to every task of the support set: returns fast weights [T, P]. With <paramref name="differentiable"/>
    /// the result keeps the graph through all steps (second order); otherwise each step's gradient is a constant.
    /// </summary>
    public Tensor Adapt(Tensor theta, Tensor supportX, Tensor supportY, int steps, bool differentiable)
    {
        CheckTheta(theta);
        // Each step in its own dispose scope (InnerLoop.Iterate): a first-order loop keeps nothing of earlier steps, so
        // its memory does not grow with the steps; a second-order loop keeps only what autograd saved.
        return InnerLoop.Iterate(InnerLoop.Expand(theta, supportX.Dims()[0]), steps, (fast, _) => InnerStep(fast, supportX, supportY, differentiable));
    }

    /// <inheritdoc />
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        if (Network is IAnalyticNetwork analytic && analytic.SupportsAnalytic(Loss))
        {
            CheckTheta(metaParameters);
            using var noGrad = no_grad();
            return InnerLoop.Iterate(InnerLoop.Expand(metaParameters.detach(), supportX.Dims()[0]), steps,
                (fast, _) => fast.add(analytic.AnalyticPass(fast, supportX, supportY, Loss).Gradient(), -InnerLr));
        }
        using var enabled = enable_grad();
        return Adapt(metaParameters.detach(), supportX, supportY, steps, differentiable: false).detach();
    }

    /// <inheritdoc />
    /// <remarks>MAML splits inside the network's whole-step kernel (the MLP's), bit for bit the one-thread result.</remarks>
    public MetaStepResult? SplitMetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights, Training.TaskSplitter splitter)
    {
        if (Network is not IMamlKernel kernel || !kernel.SupportsAnalytic(Loss)) return null;
        CheckTheta(metaParameters);
        CheckEpisode(episode, taskWeights);
        return kernel.MamlMetaStep(metaParameters, episode, Loss, InnerSteps, InnerLr, FirstOrder, taskWeights, splitter);
    }

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        CheckTheta(metaParameters);
        CheckEpisode(episode, taskWeights);
        if (Network is IAnalyticNetwork analytic && analytic.SupportsAnalytic(Loss))
        {
            // The network's own whole-step kernel where it has one for these tensors (the MLP on the CPU), else the same
            // maths composed from its analytic passes.
            if (Network is IMamlKernel kernel && kernel.MamlMetaStep(metaParameters, episode, Loss, InnerSteps, InnerLr, FirstOrder, taskWeights) is { } fused)
                return fused;
            return AnalyticMetaStep(analytic, metaParameters, episode, taskWeights);
        }

        using var leaf = metaParameters.detach().requires_grad_(true);
        var fast = Adapt(leaf, episode.SupportX, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = InnerLoop.QueryLosses(Network, Loss, fast, episode);
        var metaLoss = taskWeights is null ? taskLosses.mean() : (taskLosses * taskWeights).mean();
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach());
    }

    /// <summary>
    /// The meta-step without autograd, for networks with analytic derivatives: S inner steps φ_{s+1} = φ_s − α∇L(φ_s),
    /// then the query gradient v_S = (w_t / T)·∇L_query(φ_S) carried back through the steps (second order) as
    /// v_s = v_{s+1} − α·H_s v_{s+1} with H_s the support Hessian at φ_s; the meta-gradient is Σ_t v_{0,t}
    /// (first order: Σ_t v_{S,t}). The same quantity autograd computes, as a fixed number of batched products.
    /// </summary>
    private MetaStepResult AnalyticMetaStep(IAnalyticNetwork network, Tensor theta, Episode episode, Tensor? taskWeights)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tasks = episode.Tasks;
        var fast = InnerLoop.Expand(theta.detach(), tasks);
        var passes = FirstOrder ? null : new IAnalyticPass[InnerSteps];
        for (var s = 0; s < InnerSteps; s++)
        {
            var pass = network.AnalyticPass(fast, episode.SupportX, episode.SupportY, Loss);
            if (passes is not null) passes[s] = pass;
            fast = fast.add(pass.Gradient(), -InnerLr);
        }
        var query = network.AnalyticPass(fast, episode.QueryX, episode.QueryY, Loss);
        var taskLosses = query.TaskLosses();
        var metaLoss = InnerLoop.WeightedMean(taskLosses, taskWeights);
        var v = query.Gradient(1.0 / tasks, taskWeights);
        if (passes is not null)
            for (var s = InnerSteps - 1; s >= 0; s--)
                v = v.add(passes[s].HessianVectorProduct(v), -InnerLr);
        var gradient = v.sum(0L);
        return new MetaStepResult(gradient.MoveToOuterDisposeScope(), metaLoss.MoveToOuterDisposeScope(), taskLosses.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One SGD step of every task's fast weights [T, P] on its own loss: φ ← φ − α·∇φ L(φ). Differentiable keeps the
    /// graph through the gradient (second order); otherwise the gradient is taken at a detached copy (first order).
    /// </summary>
    public Tensor InnerStep(Tensor fast, Tensor x, Tensor y, bool differentiable) =>
        fast.add(InnerLoop.Gradient(Network, Loss, fast, x, y, differentiable), -InnerLr);

    private void CheckTheta(Tensor theta)
    {
        if (theta.dim() != 1 || theta.Dims()[0] != Network.Layout.Count)
            throw new ArgumentException($"θ must be a flat vector of {Network.Layout.Count} parameters, got [{string.Join(", ", theta.Dims())}]");
    }

    private void CheckEpisode(Episode episode, Tensor? taskWeights) =>
        AlgorithmChecks.Episode(Network, Loss, episode, taskWeights);
}

/// <summary>Input checks shared by the algorithms: run before anything reaches autograd.</summary>
public static class AlgorithmChecks
{
    /// <summary>Checks that <paramref name="episode"/> fits the network and loss, and that task weights are [T].</summary>
    public static void Episode(IFunctionalNetwork network, ITaskLoss loss, Episode episode, Tensor? taskWeights)
    {
        episode.CheckUnchanged();
        var inputs = episode.SupportXDims;
        var features = 1L;
        for (var i = 2; i < inputs.Length; i++) features *= inputs[i];
        if (inputs.Length == 3 && features != network.Inputs)
            throw new ArgumentException($"episode inputs have {features} features; the network takes {network.Inputs}");
        loss.Check([episode.Tasks, episode.QueryXDims[1], network.Outputs], episode.QueryY);
        loss.Check([episode.Tasks, inputs[1], network.Outputs], episode.SupportY);
        if (taskWeights is not null && (taskWeights.dim() != 1 || taskWeights.Dims()[0] != episode.Tasks))
            throw new ArgumentException($"task weights must be [{episode.Tasks}], got [{string.Join(", ", taskWeights.Dims())}]");
    }
}
