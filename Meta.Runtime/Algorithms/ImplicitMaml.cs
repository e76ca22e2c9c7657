using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>Options of <see cref="ImplicitMaml"/>.</summary>
public sealed record ImplicitMamlOptions
{
    /// <summary>Inner SGD steps S on the proximal objective.</summary>
    public int InnerSteps { get; init; } = 10;

    /// <summary>Inner learning rate α; keep α·(λ + largest Hessian eigenvalue) &lt; 2 or the inner loop diverges.</summary>
    public double InnerLr { get; init; } = 0.02;

    /// <summary>
    /// Proximal regularisation strength λ &gt; 0. I + H/λ is indefinite when λ is below the magnitude of H's most negative
    /// eigenvalue (about 6 for sinusoid tasks at initialisation); in short sinusoid runs λ ≤ 2 stalled and the default 5
    /// trained (docs/algorithms.md).
    /// </summary>
    public double Lambda { get; init; } = 5.0;

    /// <summary>Conjugate-gradient iterations per meta-step (≥ 1), each one Hessian-vector product.</summary>
    public int CgSteps { get; init; } = 5;
}

/// <summary>
/// Implicit MAML (Rajeswaran, Finn, Kakade &amp; Levine 2019), task-batched. Each task minimises its support loss plus
/// (λ/2)‖φ − θ‖² by S steps of SGD from φ = θ, keeping no graph, so memory does not grow with S. At the adapted φ_t the
/// meta-gradient of task t is x_t = (I + H_t/λ)⁻¹ ∇φ L_query(φ_t), where H_t is the Hessian of the support loss (data
/// term only) at φ_t; x_t is found by conjugate gradient, warm-started at x₀ = ∇φ L_query (the first-order answer), with
/// Hessian-vector products by double backward. CG runs on all tasks at once: vectors are [T, P] and its step sizes are
/// per-task [T, 1]. The meta-gradient is mean_t w_t·x_t. Meta-parameters are θ.
/// </summary>
public sealed class ImplicitMaml : IMetaAlgorithm
{
    /// <summary>Creates iMAML with the mean-squared-error loss.</summary>
    public ImplicitMaml(IFunctionalNetwork network, ImplicitMamlOptions options)
        : this(network, TaskLoss.MeanSquaredErrorLoss, options) { }

    /// <summary>Creates iMAML with per-task loss <paramref name="loss"/>.</summary>
    public ImplicitMaml(IFunctionalNetwork network, ITaskLoss loss, ImplicitMamlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Lambda > 0) || !double.IsFinite(options.Lambda))
            throw new ArgumentOutOfRangeException(nameof(options), options.Lambda, "iMAML's regularisation strength λ must be finite and > 0");
        if (options.CgSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.CgSteps, "iMAML needs at least 1 conjugate-gradient step");
        if (options.InnerSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.InnerSteps, "the number of inner steps must be ≥ 0");
        InnerLoop.Positive(options.InnerLr, nameof(options), "the inner learning rate");
        Network = network;
        Loss = loss;
        Options = options;
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>The options.</summary>
    public ImplicitMamlOptions Options { get; }

    /// <inheritdoc />
    public string Name => "imaml";

    /// <inheritdoc />
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        return theta.detach().clone();
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters;

    /// <summary>Test-time rule: <paramref name="steps"/> SGD steps on support loss + (λ/2)‖φ − θ‖² from φ = θ.</summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        return Proximal(metaParameters.detach(), supportX, supportY, steps);
    }

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        var adapted = Proximal(metaParameters.detach(), episode.SupportX, episode.SupportY, Options.InnerSteps);

        using var enabled = enable_grad();
        var point = adapted.detach().requires_grad_(true);
        var taskLosses = Loss.PerTask(Network.Forward(point, episode.QueryX), episode.QueryY);
        var queryGradient = torch.autograd.grad([taskLosses.sum()], [point])[0];            // [T, P]: ∇L_query per task
        var supportLoss = Loss.Summed(Network.Forward(point, episode.SupportX), episode.SupportY);
        var supportGradient = torch.autograd.grad([supportLoss], [point], retain_graph: true, create_graph: true)[0];

        var lambda = Options.Lambda;
        Tensor Apply(Tensor v)                                                            // (I + H/λ)·v per task
        {
            var hv = torch.autograd.grad([supportGradient], [point], [v], retain_graph: true)[0];
            return v + hv / lambda;
        }
        var implicitGradient = ConjugateGradient(Apply, queryGradient, queryGradient, Options.CgSteps);

        using var noGrad = no_grad();
        var gradient = taskWeights is null ? implicitGradient.mean([0]) : (implicitGradient * taskWeights.unsqueeze(1)).mean([0]);
        var detachedLosses = taskLosses.detach();
        return new MetaStepResult(gradient, InnerLoop.WeightedMean(detachedLosses, taskWeights), detachedLosses);
    }

    /// <summary>
    /// Conjugate gradient for A·x = b on T independent systems at once: <paramref name="b"/>, <paramref name="x0"/> [T, P],
    /// <paramref name="apply"/> maps [T, P] → [T, P] task by task. Step sizes are per task; a task whose residual or search
    /// direction has vanished stops moving instead of dividing by zero.
    /// </summary>
    public static Tensor ConjugateGradient(Func<Tensor, Tensor> apply, Tensor b, Tensor x0, int iterations)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least 1 iteration");
        if (b.dim() != 2 || !x0.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"conjugate gradient needs b and x0 of one shape [T, P], got [{string.Join(", ", b.shape)}] and [{string.Join(", ", x0.shape)}]");
        var x = x0.detach().clone();
        Tensor r, p, rr;
        using (var start = NewDisposeScope())
        {
            r = (b.detach() - apply(x).detach()).MoveToOuterDisposeScope();
            p = r.clone().MoveToOuterDisposeScope();
            rr = (r * r).sum([1], keepdim: true).MoveToOuterDisposeScope();                // [T, 1]
        }
        for (var i = 0; i < iterations; i++)
        {
            // Each iteration's Hessian-vector product and temporaries are freed before the next; x, r, p, rr are
            // updated in place.
            using var scope = NewDisposeScope();
            var ap = apply(p).detach();
            using var noGrad = no_grad();
            var pap = (p * ap).sum([1], keepdim: true);
            var step = where(pap.ne(0), rr / pap, zeros_like(pap));                       // α_t
            x.add_(p * step);
            r.sub_(ap * step);
            var rrNext = (r * r).sum([1], keepdim: true);
            var beta = where(rr.ne(0), rrNext / rr, zeros_like(rr));                        // β_t
            p.mul_(beta).add_(r);
            rr.copy_(rrNext);
        }
        r.Dispose();
        p.Dispose();
        rr.Dispose();
        return x;
    }

    private Tensor Proximal(Tensor theta, Tensor x, Tensor y, int steps)
    {
        var fast = InnerLoop.Expand(theta, x.shape[0]).clone();
        var anchor = theta.unsqueeze(0);
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();                                            // memory flat in S
            var gradient = InnerLoop.Gradient(Network, Loss, fast, x, y, differentiable: false);
            using var noGrad = no_grad();
            // φ ← φ − α·(∇L(φ) + λ(φ − θ))
            fast.sub_((gradient + (fast - anchor) * Options.Lambda) * Options.InnerLr);
        }
        return fast;
    }
}
