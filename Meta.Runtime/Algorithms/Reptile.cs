using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>The inner-loop optimiser of <see cref="Reptile"/>.</summary>
public enum InnerOptimizer
{
    /// <summary>Plain SGD: φ ← φ − α·g.</summary>
    Sgd,
    /// <summary>Adam with bias correction (PyTorch's rule), moments [T, P] reset for every task batch.</summary>
    Adam,
}

/// <summary>Options of <see cref="Reptile"/>.</summary>
public sealed record ReptileOptions
{
    /// <summary>Inner steps k per task.</summary>
    public int InnerSteps { get; init; } = 5;

    /// <summary>Inner learning rate α.</summary>
    public double InnerLr { get; init; } = 0.02;

    /// <summary>Inner optimiser.</summary>
    public InnerOptimizer Optimizer { get; init; } = InnerOptimizer.Sgd;

    /// <summary>Adam's first-moment decay β1 (Nichol et al. use 0).</summary>
    public double AdamBeta1 { get; init; }

    /// <summary>Adam's second-moment decay β2.</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>Adam's denominator guard ε.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Support points per inner step (a fresh random subset of each task's support set); −1 uses all of them.</summary>
    public int InnerBatchSize { get; init; } = -1;

    /// <summary>Clip each task's inner gradient to this Euclidean norm (over its P entries); null does not clip.</summary>
    public double? ClipNorm { get; init; }
}

/// <summary>
/// Reptile (Nichol, Achiam &amp; Schulman 2018), task-batched. Each task runs k steps of SGD or Adam on minibatches of its
/// own support set from φ = θ, without any graph; the meta-step returns the pseudo-gradient g = θ − mean_t φ_t (task
/// weights w_t give mean_t w_t·(θ − φ_t)), so an outer SGD step with rate ε makes θ ← θ + ε·(mean φ − θ). The query
/// losses of the adapted weights are reported but play no part in the update. Meta-parameters are θ.
/// </summary>
public sealed class Reptile : IMetaAlgorithm
{
    private readonly Generator? _sampler;

    /// <summary>Creates Reptile with the mean-squared-error loss.</summary>
    public Reptile(IFunctionalNetwork network, ReptileOptions options, Generator? sampler = null)
        : this(network, TaskLoss.MeanSquaredErrorLoss, options, sampler) { }

    /// <summary>
    /// Creates Reptile with per-task loss <paramref name="loss"/>. <paramref name="sampler"/> draws the inner minibatches
    /// and is required when <see cref="ReptileOptions.InnerBatchSize"/> is not −1.
    /// </summary>
    public Reptile(IFunctionalNetwork network, ITaskLoss loss, ReptileOptions options, Generator? sampler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InnerSteps < 1) throw new ArgumentOutOfRangeException(nameof(options), options.InnerSteps, "Reptile needs at least 1 inner step");
        InnerLoop.Positive(options.InnerLr, nameof(options), "the inner learning rate");
        if (options.InnerBatchSize == 0 || options.InnerBatchSize < -1)
            throw new ArgumentOutOfRangeException(nameof(options), options.InnerBatchSize, "the inner batch size must be ≥ 1, or −1 for the whole support set");
        if (options.InnerBatchSize != -1 && sampler is null)
            throw new ArgumentException("minibatches (inner batch size ≠ −1) need a generator to draw them from", nameof(sampler));
        if (options.ClipNorm is { } clip && (!(clip > 0) || !double.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(options), clip, "the gradient clipping norm must be finite and > 0 (null disables clipping)");
        if (options.Optimizer == InnerOptimizer.Adam)
        {
            if (!(options.AdamBeta1 >= 0 && options.AdamBeta1 < 1)) throw new ArgumentOutOfRangeException(nameof(options), options.AdamBeta1, "Adam's β1 must be in [0, 1)");
            if (!(options.AdamBeta2 >= 0 && options.AdamBeta2 < 1)) throw new ArgumentOutOfRangeException(nameof(options), options.AdamBeta2, "Adam's β2 must be in [0, 1)");
            InnerLoop.Positive(options.AdamEpsilon, nameof(options), "Adam's ε");
        }
        Network = network;
        Loss = loss;
        Options = options;
        _sampler = sampler;
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>The options.</summary>
    public ReptileOptions Options { get; }

    /// <inheritdoc />
    public string Name => "reptile";

    /// <summary>False with inner minibatches: their draws from the shared generator would depend on the threads' order.</summary>
    public bool TaskParallel => Options.InnerBatchSize == -1;

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
        var theta = metaParameters.detach();
        var fast = Run(theta, episode.SupportX, episode.SupportY, Options.InnerSteps, Options.InnerBatchSize);
        using var noGrad = no_grad();
        var difference = theta.unsqueeze(0) - fast;                                    // [T, P]: θ − φ_t
        var gradient = taskWeights is null ? difference.mean([0]) : (difference * taskWeights.unsqueeze(1)).mean([0]);
        var taskLosses = Loss.PerTask(Network.Forward(fast, episode.QueryX), episode.QueryY);
        return new MetaStepResult(gradient, InnerLoop.WeightedMean(taskLosses, taskWeights), taskLosses);
    }

    /// <summary>
    /// Test-time rule: <paramref name="steps"/> steps of the inner optimiser (with clipping) on each task's whole support
    /// set; no minibatches, so evaluation is deterministic and does not draw from the training generator.
    /// </summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        return Run(metaParameters.detach(), supportX, supportY, steps, batchSize: -1);
    }

    private Tensor Run(Tensor theta, Tensor x, Tensor y, int steps, int batchSize)
    {
        var tasks = x.Dims()[0];
        var points = x.Dims()[1];
        var fast = InnerLoop.Expand(theta, tasks).clone();
        // Adam works elementwise, so one optimiser over [T, P] is every task's own Adam; new moments for every call.
        using var adam = Options.Optimizer == InnerOptimizer.Adam
            ? new Training.Adam(fast, Options.InnerLr, Options.AdamBeta1, Options.AdamBeta2, Options.AdamEpsilon)
            : null;
        for (var s = 1; s <= steps; s++)
        {
            using var scope = NewDisposeScope();                                            // fast, m, v change in place
            var (bx, by) = batchSize == -1 || batchSize >= points ? (x, y) : Minibatch(x, y, batchSize);
            var gradient = InnerLoop.Gradient(Network, Loss, fast, bx, by, differentiable: false);
            using var noGrad = no_grad();
            if (Options.ClipNorm is { } clip)
            {
                // Per task: scale by c / max(‖g_t‖, c), i.e. 1 when the norm is within the bound.
                var norm = gradient.norm(1, keepdim: true);
                gradient = gradient * (clip / norm.clamp_min(clip));
            }
            if (adam is null) fast.add_(gradient, alpha: -Options.InnerLr);
            else adam.Step(gradient);
        }
        return fast;
    }

    /// <summary>A fresh random subset of <paramref name="size"/> points per task (without replacement), drawn from the sampler.</summary>
    private (Tensor X, Tensor Y) Minibatch(Tensor x, Tensor y, int size)
    {
        var (tasks, points) = (x.Dims()[0], x.Dims()[1]);
        var index = rand([tasks, points], ScalarType.Float64, generator: _sampler).argsort(1).narrow(1, 0, size);
        return (TakePoints(x, index), TakePoints(y, index));
    }

    /// <summary>data [T, K, …] at per-task point indices [T, B] → [T, B, …].</summary>
    internal static Tensor TakePoints(Tensor data, Tensor index)
    {
        if (data.dim() == 2) return data.gather(1, index);
        var rest = data.Dims().Skip(2).ToArray();
        var flat = data.reshape(data.Dims()[0], data.Dims()[1], -1);
        var picked = flat.gather(1, index.unsqueeze(2).expand(index.Dims()[0], index.Dims()[1], flat.Dims()[2]));
        return picked.reshape([index.Dims()[0], index.Dims()[1], .. rest]);
    }
}
