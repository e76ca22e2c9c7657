using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// ANIL, "almost no inner loop" (Raghu, Raghu, Bengio &amp; Vinyals 2020), task-batched. Only the head (the last layer)
/// adapts in the inner loop: S SGD steps h ← h − α ∇h L_support on each task's head, on features the shared body computes
/// once per meta-step. The body is learned through the outer (query) loss only. Second order differentiates through
/// the head updates (and through the support features they were computed on); first order treats the inner gradients
/// as constants, so the meta-gradient is the query gradient at the adapted weights. Meta-parameters are θ.
/// </summary>
public sealed class Anil : IMetaAlgorithm
{
    private readonly IHeadNetwork _network;

    /// <summary>Creates ANIL with the mean-squared-error loss.</summary>
    public Anil(IHeadNetwork network, int innerSteps, double innerLr, bool firstOrder)
        : this(network, TaskLoss.MeanSquaredErrorLoss, innerSteps, innerLr, firstOrder) { }

    /// <summary>Creates ANIL with per-task loss <paramref name="loss"/>.</summary>
    public Anil(IHeadNetwork network, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "ANIL needs at least 1 inner step");
        InnerLoop.Positive(innerLr, nameof(innerLr), "the inner learning rate");
        _network = network;
        Loss = loss;
        InnerSteps = innerSteps;
        InnerLr = innerLr;
        FirstOrder = firstOrder;
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network => _network;

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>Inner steps during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>Inner learning rate α.</summary>
    public double InnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <inheritdoc />
    public string Name => FirstOrder ? "fo-anil" : "anil";

    private long BodySize => _network.HeadOffset;

    private long HeadSize => _network.Layout.Count - _network.HeadOffset;

    /// <inheritdoc />
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        return theta.detach().clone();
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters;

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        using var enabled = enable_grad();
        using var leaf = metaParameters.detach().requires_grad_(true);
        var parts = leaf.split([BodySize, HeadSize]);
        var tasks = episode.Tasks;
        var body = InnerLoop.Expand(parts[0], tasks);
        var supportFeatures = _network.Features(body, episode.SupportX);
        var queryFeatures = _network.Features(body, episode.QueryX);
        var head = AdaptHead(InnerLoop.Expand(parts[1], tasks), supportFeatures, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = Loss.PerTask(_network.Head(head, queryFeatures), episode.QueryY);
        var metaLoss = InnerLoop.WeightedMean(taskLosses, taskWeights);
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach());
    }

    /// <summary>Test-time rule: <paramref name="steps"/> SGD steps on the head only; returns full fast weights [T, P] (body = θ's).</summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        var theta = metaParameters.detach();
        var tasks = supportX.Dims()[0];
        var body = InnerLoop.Expand(theta.narrow(0, 0, BodySize), tasks);
        Tensor features;
        using (no_grad()) features = _network.Features(body, supportX);
        var head = AdaptHead(InnerLoop.Expand(theta.narrow(0, BodySize, HeadSize), tasks), features, supportY, steps, differentiable: false);
        return cat([body, head.detach()], 1);
    }

    private Tensor AdaptHead(Tensor head, Tensor features, Tensor y, int steps, bool differentiable)
    {
        return InnerLoop.Iterate(head, steps,
            (h, _) => h - InnerLr * InnerLoop.Gradient(w => Loss.Summed(_network.Head(w, features), y), h, differentiable));
    }
}
