using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// Meta-SGD (Li, Zhou, Chen &amp; Li 2017), task-batched. Meta-parameters are [θ, α]: α [P] has θ's shape, one learning
/// rate per weight, initialised to the inner rate. The inner step is φ ← φ − α ⊙ ∇φ L_support(φ) (the paper uses one;
/// more reuse the same α); θ and α are learned jointly through the query loss, second order by default. First order
/// treats the inner gradients as constants, but α still receives a gradient through the update itself. The stored
/// meta-parameters hold α through a <see cref="LearnedRateMapping"/>: α itself (the paper), or logit(α / bound) so that α
/// stays in (0, bound).
/// </summary>
public sealed class MetaSgd : IMetaAlgorithm
{
    /// <summary>Creates Meta-SGD with the mean-squared-error loss.</summary>
    public MetaSgd(IFunctionalNetwork network, int innerSteps, double initialInnerLr, bool firstOrder = false, LearnedRateMapping? rates = null)
        : this(network, TaskLoss.MeanSquaredErrorLoss, innerSteps, initialInnerLr, firstOrder, rates) { }

    /// <summary>
    /// Creates Meta-SGD with per-task loss <paramref name="loss"/>; <paramref name="rates"/> maps the stored meta-parameters
    /// to α (null: <see cref="LearnedRateMapping.Direct"/>, the paper's).
    /// </summary>
    public MetaSgd(IFunctionalNetwork network, ITaskLoss loss, int innerSteps, double initialInnerLr, bool firstOrder = false, LearnedRateMapping? rates = null)
    {
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "Meta-SGD needs at least 1 inner step");
        InnerLoop.Positive(initialInnerLr, nameof(initialInnerLr), "the initial inner learning rate");
        Network = network;
        Loss = loss;
        InnerSteps = innerSteps;
        InitialInnerLr = initialInnerLr;
        FirstOrder = firstOrder;
        Rates = rates ?? LearnedRateMapping.Direct;
        Rates.FromRate(initialInnerLr);
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>Inner steps during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>The value every entry of α starts at.</summary>
    public double InitialInnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <summary>How the stored meta-parameters map to α.</summary>
    public LearnedRateMapping Rates { get; }

    /// <summary>
    /// When set, <see cref="InitialMetaParameters"/> draws every α independently from U[Low, High] (the paper's
    /// initialisation; U[0.005, 0.1] for regression) instead of setting it to <see cref="InitialInnerLr"/>.
    /// </summary>
    public (double Low, double High, Generator Generator)? RandomInitialRates { get; private set; }

    /// <summary>
    /// Draws the initial α per parameter from U[<paramref name="low"/>, <paramref name="high"/>] with
    /// <paramref name="generator"/> (a run passes its weight stream, so the draw is fixed by the seed). Returns this.
    /// </summary>
    public MetaSgd WithRandomInitialRates(double low, double high, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        InnerLoop.Positive(low, nameof(low), "the lowest initial rate");
        if (!(high >= low) || !double.IsFinite(high))
            throw new ArgumentOutOfRangeException(nameof(high), high, "the highest initial rate must be finite and ≥ the lowest");
        Rates.FromRate(low);
        Rates.FromRate(high);
        RandomInitialRates = (low, high, generator);
        return this;
    }

    /// <inheritdoc />
    public string Name => FirstOrder ? "fo-metasgd" : "metasgd";

    private long P => Network.Layout.Count;

    /// <summary>
    /// [θ, α] with α = the initial inner rate everywhere, or drawn per parameter (<see cref="RandomInitialRates"/>), stored
    /// through <see cref="Rates"/>: 2P entries.
    /// </summary>
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        if (RandomInitialRates is not { } range)
            return cat([theta.detach(), full_like(theta, Rates.FromRate(InitialInnerLr))], 0);
        using var scope = NewDisposeScope();
        var alpha = (range.Low + (range.High - range.Low) * rand(theta.Dims(), ScalarType.Float64, generator: range.Generator)).to_type(theta.dtype);
        return cat([theta.detach(), Rates.FromRates(alpha)], 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters.narrow(0, 0, P);

    /// <inheritdoc />
    public IReadOnlyList<(long Offset, long Count)> LearnedRateRanges => [(P, P)];

    /// <summary>The learned learning rates α [P] (a view of the meta-parameters when <see cref="Rates"/> is direct).</summary>
    public Tensor LearningRates(Tensor metaParameters) => Rates.ToRates(metaParameters.narrow(0, P, P));

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        Check(metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        using var enabled = enable_grad();
        using var leaf = metaParameters.detach().requires_grad_(true);
        var parts = leaf.split([P, P]);
        var rates = Rates.ToRates(parts[1]);
        var fast = Run(parts[0], rates, episode.SupportX, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = InnerLoop.QueryLosses(Network, Loss, fast, episode);
        var metaLoss = InnerLoop.WeightedMean(taskLosses, taskWeights);
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        var diagnostics = new StepDiagnostics().Rates(rates)
            .InnerLoop(Network, Loss, parts[0], fast, episode.SupportX, episode.SupportY);
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach()) { Diagnostics = diagnostics.Values };
    }

    /// <summary>Test-time rule: <paramref name="steps"/> steps φ ← φ − α ⊙ ∇L with the learned α.</summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        Check(metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        var meta = metaParameters.detach();
        using var noGrad = no_grad();
        return Run(Weights(meta), LearningRates(meta), supportX, supportY, steps, differentiable: false).detach();
    }

    private Tensor Run(Tensor theta, Tensor rates, Tensor x, Tensor y, int steps, bool differentiable)
    {
        return InnerLoop.Iterate(InnerLoop.Expand(theta, x.Dims()[0]), steps,
            (fast, _) => fast - rates * InnerLoop.Gradient(Network, Loss, fast, x, y, differentiable));
    }

    private void Check(Tensor metaParameters) => InnerLoop.CheckMetaParameters(metaParameters, 2 * P, "θ and α");
}
