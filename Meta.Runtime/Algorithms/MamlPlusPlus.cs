using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// Options of <see cref="MamlPlusPlus"/>: every improvement of Antoniou et al. (2019) is a switch. Cosine annealing of
/// the meta learning rate is a schedule applied to the meta-optimiser (<see cref="Training.CosineAnnealing"/>), and
/// per-step batch normalisation comes with the network (<see cref="BatchNormMlp"/>, or <see cref="ConvNet"/> with
/// <c>perStepBatchNorm</c>).
/// </summary>
public sealed record MamlPlusPlusOptions
{
    /// <summary>Inner SGD steps N during meta-training.</summary>
    public int InnerSteps { get; init; } = 5;

    /// <summary>Inner learning rate (the initial value of every learned rate when <see cref="LearnedLearningRates"/>).</summary>
    public double InnerLr { get; init; } = 0.01;

    /// <summary>Multi-step loss: a weighted sum of the query losses after every inner step (needs N ≥ 2).</summary>
    public bool MultiStepLoss { get; init; } = true;

    /// <summary>Epochs E over which the per-step weights anneal; from epoch E on only the final step counts.</summary>
    public int MultiStepLossEpochs { get; init; } = 10;

    /// <summary>Meta-iterations per epoch (the unit of every annealing schedule here).</summary>
    public long IterationsPerEpoch { get; init; } = 500;

    /// <summary>LSLR: a learned inner learning rate per layer and per inner step, meta-parameters [N × layers].</summary>
    public bool LearnedLearningRates { get; init; } = true;

    /// <summary>Derivative-order annealing: first-order meta-gradients for epochs below this, second order from it on (0 = always second order).</summary>
    public int FirstOrderEpochs { get; init; }

    /// <summary>Clamp every element of the meta-gradient to ±this value; null does not clamp.</summary>
    public double? GradientClamp { get; init; }

    /// <summary>How the stored LSLR meta-parameters map to rates (default: direct, the paper's).</summary>
    public LearnedRateMapping RateMapping { get; init; } = LearnedRateMapping.Direct;
}

/// <summary>
/// MAML++ (Antoniou, Edwards &amp; Storkey 2019, "How to train your MAML"), task-batched, with each change switchable:
/// <list type="bullet">
/// <item>multi-step loss: the outer loss is Σ_s v_s·L_query(φ_s) over the N inner steps with the annealed importance
/// vector v of <see cref="StepImportance"/>;</item>
/// <item>LSLR: inner step s updates layer l with its own learned rate, φ ← φ − lr[s, l]·∇L; the rates follow θ in the
/// meta-parameters ([θ, lr] with lr [N × layers], row s = step s, starting at the inner rate);</item>
/// <item>derivative-order annealing: first order for the first epochs, then second order;</item>
/// <item>per-step batch norm when the network is an <see cref="IStepwiseNetwork"/> with at least one step set (e.g.
/// <see cref="BatchNormMlp"/>, or <see cref="ConvNet"/> built with <c>perStepBatchNorm</c>):
/// the support pass of step s uses BN set s with batch statistics and tracks the running statistics; the query pass after
/// step s uses set s with batch statistics; the BN weights are meta-learned and not adapted in the inner loop;</item>
/// <item>meta-gradient clamping to ±c, element-wise.</item>
/// </list>
/// The current iteration comes from <see cref="BeginIteration"/> (the <see cref="IMetaAlgorithm"/> hook; a trainer calls it
/// before every meta-step); an epoch is <see cref="MamlPlusPlusOptions.IterationsPerEpoch"/> iterations. The reported
/// meta-loss and task losses are those after the final inner step, whatever the step weights.
/// </summary>
public sealed class MamlPlusPlus : IMetaAlgorithm
{
    private readonly IStepwiseNetwork? _stepwise;
    private readonly long[] _rateColumn;           // per parameter: its layer's LSLR column, or Layers for "not adapted"
    private long _iteration;

    /// <summary>Creates MAML++ with the mean-squared-error loss.</summary>
    public MamlPlusPlus(IFunctionalNetwork network, MamlPlusPlusOptions options)
        : this(network, TaskLoss.MeanSquaredErrorLoss, options) { }

    /// <summary>Creates MAML++ with per-task loss <paramref name="loss"/>.</summary>
    public MamlPlusPlus(IFunctionalNetwork network, ITaskLoss loss, MamlPlusPlusOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        if (options.InnerSteps < 1) throw new ArgumentOutOfRangeException(nameof(options), options.InnerSteps, "MAML++ needs at least 1 inner step");
        if (options.MultiStepLoss && options.InnerSteps < 2)
            throw new ArgumentException("the multi-step loss needs at least 2 inner steps (with one step it is the ordinary MAML loss: turn it off)", nameof(options));
        if (options.MultiStepLoss && options.MultiStepLossEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MultiStepLossEpochs, "the multi-step loss needs at least 1 annealing epoch");
        if (options.IterationsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(options), options.IterationsPerEpoch, "an epoch must be at least 1 iteration");
        if (options.FirstOrderEpochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.FirstOrderEpochs, "the number of first-order epochs must be ≥ 0");
        if (options.GradientClamp is { } clamp && (!(clamp > 0) || !double.IsFinite(clamp)))
            throw new ArgumentOutOfRangeException(nameof(options), clamp, "the meta-gradient clamp must be finite and > 0 (null disables it)");
        InnerLoop.Positive(options.InnerLr, nameof(options), "the inner learning rate");
        ArgumentNullException.ThrowIfNull(options.RateMapping);
        if (options.LearnedLearningRates) options.RateMapping.FromRate(options.InnerLr);
        _stepwise = network is IStepwiseNetwork { StepSets: > 0 } stepwise ? stepwise : null;   // 0 sets: per-step BN is off
        if (_stepwise is not null && _stepwise.StepSets < options.InnerSteps)
            throw new ArgumentException($"the network has {_stepwise.StepSets} per-step sets but MAML++ runs {options.InnerSteps} inner steps", nameof(network));

        Network = network;
        Loss = loss;
        Options = options;
        var slots = network.Layout.Slots;
        var adapted = slots.Where(Adapts).Select(s => s.Layer).Distinct().Order().ToList();
        Layers = adapted.Count;
        _rateColumn = new long[network.Layout.Count];
        foreach (var slot in slots)
            Array.Fill(_rateColumn, Adapts(slot) ? adapted.IndexOf(slot.Layer) : Layers, (int)slot.Offset, (int)slot.Size);
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>The options.</summary>
    public MamlPlusPlusOptions Options { get; }

    /// <summary>Number of layers with a learned rate per step (layers with at least one inner-loop parameter).</summary>
    public int Layers { get; }

    /// <inheritdoc />
    public string Name => "maml++";

    /// <summary>The iteration announced by the last <see cref="BeginIteration"/>.</summary>
    public long Iteration => _iteration;

    /// <summary>The current epoch (0-based).</summary>
    public long Epoch => _iteration / Options.IterationsPerEpoch;

    /// <summary>Whether the current meta-step is second order (derivative-order annealing).</summary>
    public bool SecondOrder => Epoch >= Options.FirstOrderEpochs;

    /// <summary>The per-step weights v of the current epoch (length N, sum 1).</summary>
    public double[] StepWeights() =>
        Options.MultiStepLoss && Epoch < Options.MultiStepLossEpochs
            ? StepImportance(Options.InnerSteps, Epoch, Options.MultiStepLossEpochs)
            : [.. Enumerable.Repeat(0.0, Options.InnerSteps - 1), 1.0];

    private long RateCount => Options.LearnedLearningRates ? (long)Options.InnerSteps * Layers : 0;

    /// <summary>
    /// The annealed per-step importance vector of MAML++ for <paramref name="steps"/> N, epoch e (0-based) and E
    /// annealing epochs: every non-final step gets max(1/N − e/(N·E), 0.03/N), the final step the rest (so the weights sum
    /// to 1). At e = 0 the weights are uniform.
    /// </summary>
    public static double[] StepImportance(int steps, long epoch, int annealingEpochs)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least 1 step");
        if (annealingEpochs < 1) throw new ArgumentOutOfRangeException(nameof(annealingEpochs), annealingEpochs, "at least 1 epoch");
        var weights = new double[steps];
        var decay = 1.0 / steps / annealingEpochs;
        var floor = 0.03 / steps;
        for (var s = 0; s < steps - 1; s++) weights[s] = Math.Max(1.0 / steps - epoch * decay, floor);
        weights[^1] = 1 - weights[..^1].Sum();
        return weights;
    }

    /// <summary>Sets the current meta-iteration (0-based); call before every <see cref="MetaStep"/>.</summary>
    public void BeginIteration(long iteration)
    {
        if (iteration < 0) throw new ArgumentOutOfRangeException(nameof(iteration), iteration, "iterations count from 0");
        _iteration = iteration;
    }

    /// <summary>[θ, lr] with lr = the inner rate for every step and layer when LSLR is on; θ alone otherwise.</summary>
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        return RateCount == 0
            ? theta.detach().clone()
            : cat([theta.detach(), full([RateCount], Options.RateMapping.FromRate(Options.InnerLr), dtype: theta.dtype)], 0);
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters.narrow(0, 0, Network.Layout.Count);

    /// <summary>
    /// False with per-step batch norm (each step folds the whole meta-batch's statistics into running statistics shared
    /// by all calls) and with the meta-gradient clamp (a clamp of the mean is not the mean of clamps).
    /// </summary>
    public bool TaskParallel => _stepwise is null && Options.GradientClamp is null;

    /// <inheritdoc />
    public IReadOnlyList<(long Offset, long Count)> LearnedRateRanges => RateCount == 0 ? [] : [(Network.Layout.Count, RateCount)];

    /// <summary>The learned rates [N, layers] (a view when the rate mapping is direct); throws when LSLR is off.</summary>
    public Tensor LearningRates(Tensor metaParameters)
    {
        if (RateCount == 0) throw new InvalidOperationException("learned learning rates (LSLR) are off");
        return Options.RateMapping.ToRates(metaParameters.narrow(0, Network.Layout.Count, RateCount).view(Options.InnerSteps, Layers));
    }

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        Check(metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        var stepWeights = StepWeights();
        var secondOrder = SecondOrder;
        using var enabled = enable_grad();
        using var leaf = metaParameters.detach().requires_grad_(true);
        var rates = StepRates(leaf);
        var fast = InnerLoop.Expand(Weights(leaf), episode.Tasks);
        Tensor? objective = null;
        Tensor? finalLosses = null;
        for (var s = 0; s < Options.InnerSteps; s++)
        {
            // One dispose scope per step: what the backward pass needs is held by the graph, not by these handles.
            using var scope = NewDisposeScope();
            var step = s;
            var gradient = InnerLoop.Gradient(
                w => Loss.Summed(Forward(w, episode.SupportX, step, NormalizationStatistics.BatchAndTrack), episode.SupportY),
                fast, secondOrder);
            var next = (fast - rates[s] * gradient).MoveToOuterDisposeScope();
            if (s > 0) fast.Dispose();
            fast = next;
            if (stepWeights[s] == 0) continue;
            Tensor taskLosses;
            using (BatchedOps.FirstOrderOnly())   // each step's query pass is differentiated once
                taskLosses = Loss.PerTask(Forward(fast, episode.QueryX, s, NormalizationStatistics.Batch), episode.QueryY);
            var term = InnerLoop.WeightedMean(taskLosses, taskWeights) * stepWeights[s];
            var sum = (objective is null ? term : objective + term).MoveToOuterDisposeScope();
            objective?.Dispose();
            objective = sum;
            if (s == Options.InnerSteps - 1) finalLosses = taskLosses.MoveToOuterDisposeScope();
        }
        var metaGradient = torch.autograd.grad([objective!], [leaf])[0];
        if (Options.GradientClamp is { } c) metaGradient = metaGradient.clamp(-c, c);
        var reported = finalLosses!.detach();
        var diagnostics = new StepDiagnostics();
        if (RateCount > 0) diagnostics.Rates(LearningRates(leaf));
        diagnostics.InnerLoop(Network, Loss, Weights(leaf), fast, episode.SupportX, episode.SupportY);
        return new MetaStepResult(metaGradient, InnerLoop.WeightedMean(reported, taskWeights), reported) { Diagnostics = diagnostics.Values };
    }

    /// <summary>
    /// Test-time rule: <paramref name="steps"/> inner steps with step s's rates (steps beyond N reuse the last step's) and,
    /// with per-step batch norm, step s's BN set under the network's inference statistics.
    /// </summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        Check(metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        var meta = metaParameters.detach();
        var rates = StepRates(meta);
        var fast = InnerLoop.Expand(Weights(meta), supportX.Dims()[0]);
        var statistics = _stepwise?.InferenceStatistics ?? NormalizationStatistics.Batch;
        using var noGrad = no_grad();
        return InnerLoop.Iterate(fast, steps, (current, s) =>
        {
            var step = Math.Min(s, Options.InnerSteps - 1);
            var gradient = InnerLoop.Gradient(w => Loss.Summed(Forward(w, supportX, step, statistics), supportY), current, differentiable: false);
            return current - rates[step] * gradient;
        });
    }

    /// <summary>Per-step, per-parameter rates [N, P]: the learned rate of the parameter's layer, 0 where the inner loop does not adapt.</summary>
    private Tensor StepRates(Tensor meta)
    {
        var columns = tensor(_rateColumn);
        var steps = Options.InnerSteps;
        var perLayer = RateCount == 0
            ? full([steps, Layers], Options.InnerLr, dtype: meta.dtype)
            : LearningRates(meta);
        return cat([perLayer, zeros([steps, 1], meta.dtype)], 1).index_select(1, columns);
    }

    private Tensor Forward(Tensor weights, Tensor input, int step, NormalizationStatistics statistics) =>
        _stepwise is null ? Network.Forward(weights, input) : _stepwise.Forward(weights, input, step, statistics);

    private bool Adapts(ParameterSlot slot) => _stepwise?.AdaptsInInnerLoop(slot) ?? true;

    private void Check(Tensor metaParameters) =>
        InnerLoop.CheckMetaParameters(metaParameters, Network.Layout.Count + RateCount, RateCount == 0 ? "θ" : "θ and the per-step, per-layer learning rates");
}
