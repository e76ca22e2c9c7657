using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>How <see cref="ImplicitMaml"/> solves each task's proximal problem min L(φ) + (λ/2)‖φ − θ‖².</summary>
public enum ProximalSolver
{
    /// <summary>S steps of gradient descent at the inner rate α (the paper's "iMAML, GD").</summary>
    GradientDescent,

    /// <summary>
    /// S Newton steps: each solves (H + λI)·d = −∇G by truncated conjugate gradient (Hessian-vector products only) and takes
    /// the longest step 2⁻ᵏ·d that satisfies Armijo's condition on G (the paper's Hessian-free variant).
    /// </summary>
    NewtonCg,
}

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

    /// <summary>
    /// Truncated CG (default true): a task whose CG search direction meets non-positive curvature pᵀ(I + H/λ)p ≤ μ·pᵀp
    /// (μ = <see cref="CgCurvatureFloor"/>; at μ = 0, H has curvature below −λ along p) keeps its current iterate instead
    /// of stepping by ‖r‖²/pᵀAp, which is negative or unbounded there (Steihaug; Newton-CG). False is the paper's plain CG.
    /// </summary>
    public bool TruncateCg { get; init; } = true;

    /// <summary>
    /// With <see cref="TruncateCg"/>, the curvature μ ≥ 0 at or below which a direction counts as non-positive:
    /// pᵀ(I + H/λ)p ≤ μ·pᵀp. 0 is Steihaug's exact test; the default 0.1 also stops directions where H's curvature is below
    /// −0.9λ, whose CG steps ‖r‖²/pᵀAp (up to 1/μ times the residual) dominated the meta-gradient in measured runs.
    /// </summary>
    public double CgCurvatureFloor { get; init; } = 0.1;

    /// <summary>
    /// Inner-loop backtracking (default true): per task, a proximal SGD step that raises the proximal objective
    /// L(φ) + (λ/2)‖φ − θ‖² is undone and that task's inner rate halved for its remaining steps, so the inner loop cannot
    /// diverge where α(λ + largest Hessian eigenvalue) ≥ 2. Where every step descends the iterates are plain SGD's. False
    /// is the paper's plain SGD.
    /// </summary>
    public bool InnerBacktracking { get; init; } = true;

    /// <summary>
    /// How the inner loop solves the proximal problem: <see cref="ProximalSolver.NewtonCg"/> (the default: S Newton-CG steps
    /// with <see cref="SolverCgSteps"/> CG iterations each and a line search; <see cref="InnerLr"/> is not used) or
    /// <see cref="ProximalSolver.GradientDescent"/> (the paper's GD variant; <see cref="InnerLr"/> and
    /// <see cref="InnerBacktracking"/> apply). The implicit meta-gradient is exact only at the proximal optimum; the <c>inner.stationarity</c> diagnostics
    /// say how far the inner loop got.
    /// </summary>
    public ProximalSolver Solver { get; init; } = ProximalSolver.NewtonCg;

    /// <summary>With <see cref="ProximalSolver.NewtonCg"/>: conjugate-gradient iterations per Newton step (≥ 1).</summary>
    public int SolverCgSteps { get; init; } = 5;
}

/// <summary>What an inner loop of <see cref="ImplicitMaml"/> produced.</summary>
/// <param name="Adapted">φ per task [T, P].</param>
/// <param name="Rejected">Per task, inner steps undone (GD with backtracking) or without an accepted line-search step (Newton-CG) [T]; null for plain GD.</param>
/// <param name="InitialGradientNorm">Per task, ‖∇L(θ)‖ = ‖∇G(θ)‖, the proximal gradient where the loop started [T]; null without steps.</param>
internal sealed record ProximalSolution(Tensor Adapted, Tensor? Rejected, Tensor? InitialGradientNorm);

/// <summary>What <see cref="ImplicitMaml.ConjugateGradient(Func{Tensor, Tensor}, Tensor, Tensor, int, double?)"/> found.</summary>
/// <param name="Solution">x [T, P].</param>
/// <param name="Residual">Per task, ‖b − A·x‖/‖b‖ at the end [T].</param>
/// <param name="MinCurvature">Per task, the smallest pᵀAp/pᵀp over the search directions [T].</param>
/// <param name="NonPositive">Per task, whether some search direction had pᵀAp ≤ μ·pᵀp (μ = 0 for plain CG) [T] (bool).</param>
public sealed record ConjugateGradientResult(Tensor Solution, Tensor Residual, Tensor MinCurvature, Tensor NonPositive);

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
        if (!(options.CgCurvatureFloor >= 0) || !double.IsFinite(options.CgCurvatureFloor))
            throw new ArgumentOutOfRangeException(nameof(options), options.CgCurvatureFloor, "iMAML's CG curvature floor must be finite and ≥ 0");
        if (options.CgSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.CgSteps, "iMAML needs at least 1 conjugate-gradient step");
        if (options.SolverCgSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.SolverCgSteps, "iMAML's Newton-CG solver needs at least 1 conjugate-gradient step per Newton step");
        if (!Enum.IsDefined(options.Solver))
            throw new ArgumentOutOfRangeException(nameof(options), options.Solver, "iMAML's proximal solver must be GradientDescent or NewtonCg");
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

    /// <summary>
    /// Test-time rule: <paramref name="steps"/> steps of the configured <see cref="ImplicitMamlOptions.Solver"/> on support
    /// loss + (λ/2)‖φ − θ‖² from φ = θ — SGD steps (with <see cref="ImplicitMamlOptions.InnerBacktracking"/>, a step that
    /// raises it is undone and the rate halved) or Newton-CG steps.
    /// </summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        var solution = Proximal(metaParameters.detach(), supportX, supportY, steps);
        solution.Rejected?.Dispose();
        solution.InitialGradientNorm?.Dispose();
        return solution.Adapted;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Diagnostics: <c>cg.residual.max</c> (worst task's ‖b − A·x‖/‖b‖ after CG), <c>cg.curvature.min</c> (smallest
    /// pᵀAp/pᵀp of any task's search direction), <c>cg.nonpositive.tasks</c> (tasks that met pᵀAp ≤ 0),
    /// <c>implicit_gradient.norm.max</c> (largest per-task ‖x_t‖) and <c>inner.loss_ratio.max</c> (largest per-task
    /// support loss after the inner loop over before it), <c>inner.rejected.fraction</c> (inner steps undone by
    /// backtracking or without an accepted Newton step, over tasks × steps; 0 without backtracking),
    /// <c>inner.stationarity.max</c> and <c>inner.stationarity.mean</c> (per task ‖∇G(φ)‖/‖∇G(θ)‖, how far from the
    /// proximal optimum the inner loop stopped: the implicit gradient assumes 0).
    /// </remarks>
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        InnerLoop.CheckTheta(Network, metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        var theta = metaParameters.detach();
        var solution = Proximal(theta, episode.SupportX, episode.SupportY, Options.InnerSteps);
        var adapted = solution.Adapted;

        var query = Derive(adapted, episode.QueryX, episode.QueryY, curvature: false);
        var taskLosses = query.Losses;
        var queryGradient = query.Gradient;                                                  // [T, P]: ∇L_query per task
        var support = Derive(adapted, episode.SupportX, episode.SupportY, curvature: true);
        var supportGradient = support.Gradient;
        var lambda = Options.Lambda;
        Tensor Apply(Tensor v) => v + support.HessianVectorProduct(v) / lambda;              // (I + H/λ)·v per task
        var cg = ConjugateGradient(Apply, queryGradient, queryGradient, Options.CgSteps, Options.TruncateCg ? Options.CgCurvatureFloor : null);
        var implicitGradient = cg.Solution;

        using var noGrad = no_grad();
        var gradient = taskWeights is null ? implicitGradient.mean([0]) : (implicitGradient * taskWeights.unsqueeze(1)).mean([0]);
        var detachedLosses = taskLosses.detach();
        return new MetaStepResult(gradient, InnerLoop.WeightedMean(detachedLosses, taskWeights), detachedLosses)
        {
            Diagnostics = Diagnose(cg, theta, solution, supportGradient, episode),
        };
    }

    /// <summary>The step's diagnostics, read from the device in one transfer.</summary>
    private Dictionary<string, double> Diagnose(ConjugateGradientResult cg, Tensor theta, ProximalSolution solution, Tensor supportGradient, Episode episode)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var adapted = solution.Adapted;
        var before = Loss.PerTask(Network.Forward(InnerLoop.Expand(theta, episode.SupportX.Dims()[0]), episode.SupportX), episode.SupportY);
        var after = Loss.PerTask(Network.Forward(adapted, episode.SupportX), episode.SupportY);
        var zero = zeros(1, after.dtype, after.device).squeeze();
        // ‖∇G(φ)‖ = ‖∇L(φ) + λ(φ − θ)‖ over ‖∇G(θ)‖ = ‖∇L(θ)‖ (0/0, a task already stationary at θ, counts as 0).
        var stationarity = solution.InitialGradientNorm is { } start
            ? where(start.gt(0), (supportGradient + (adapted - theta.unsqueeze(0)) * Options.Lambda).norm(1) / start, zeros_like(start))
            : null;
        var values = stack([
            cg.Residual.max(),
            cg.MinCurvature.min(),
            cg.NonPositive.sum().to(cg.Residual.dtype),
            cg.Solution.norm(1).max(),
            (after / before).max(),
            solution.Rejected is null || Options.InnerSteps == 0 ? zero : solution.Rejected.to(after.dtype).mean() / Options.InnerSteps,
            stationarity?.max() ?? zero,
            stationarity?.mean() ?? zero,
        ]).to(ScalarType.Float64).cpu().data<double>().ToArray();
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["cg.residual.max"] = values[0],
            ["cg.curvature.min"] = values[1],
            ["cg.nonpositive.tasks"] = values[2],
            ["implicit_gradient.norm.max"] = values[3],
            ["inner.loss_ratio.max"] = values[4],
            ["inner.rejected.fraction"] = values[5],
            ["inner.stationarity.max"] = values[6],
            ["inner.stationarity.mean"] = values[7],
        };
    }

    /// <summary>
    /// Conjugate gradient for A·x = b on T independent systems at once: <paramref name="b"/>, <paramref name="x0"/> [T, P],
    /// <paramref name="apply"/> maps [T, P] → [T, P] task by task. Step sizes are per task; a task whose residual or search
    /// direction has vanished stops moving instead of dividing by zero. No curvature guard: the paper's plain CG.
    /// </summary>
    public static Tensor ConjugateGradient(Func<Tensor, Tensor> apply, Tensor b, Tensor x0, int iterations)
    {
        var result = ConjugateGradient(apply, b, x0, iterations, truncateBelow: null);
        result.Residual.Dispose();
        result.MinCurvature.Dispose();
        result.NonPositive.Dispose();
        return result.Solution;
    }

    /// <summary>
    /// Conjugate gradient as <see cref="ConjugateGradient(Func{Tensor, Tensor}, Tensor, Tensor, int)"/>, optionally
    /// truncated (Steihaug 1983; Nocedal &amp; Wright, Newton-CG): with a <paramref name="truncateBelow"/> μ ≥ 0, a task
    /// whose search direction p meets pᵀAp ≤ μ·pᵀp stops at its current iterate and never steps along p (nor again),
    /// instead of dividing by a non-positive (μ = 0) or nearly vanishing curvature; null is plain CG. Returns the
    /// solution and, per task, the relative residual ‖b − A·x‖/‖b‖ (CG's recursive residual), the smallest pᵀAp/pᵀp met,
    /// and whether pᵀAp ≤ μ·pᵀp (μ = 0 for plain CG) was met.
    /// </summary>
    public static ConjugateGradientResult ConjugateGradient(Func<Tensor, Tensor> apply, Tensor b, Tensor x0, int iterations, double? truncateBelow)
    {
        if (truncateBelow is { } mu && (!(mu >= 0) || !double.IsFinite(mu)))
            throw new ArgumentOutOfRangeException(nameof(truncateBelow), mu, "the curvature floor must be finite and ≥ 0");
        var floor = truncateBelow ?? 0.0;
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least 1 iteration");
        if (b.dim() != 2 || !x0.Dims().SequenceEqual(b.Dims()))
            throw new ArgumentException($"conjugate gradient needs b and x0 of one shape [T, P], got [{string.Join(", ", b.Dims())}] and [{string.Join(", ", x0.Dims())}]");
        var x = x0.detach().clone();
        Tensor r, p, rr, minCurvature, nonPositive;
        using (var start = NewDisposeScope())
        {
            r = (b.detach() - apply(x).detach()).MoveToOuterDisposeScope();
            p = r.clone().MoveToOuterDisposeScope();
            rr = (r * r).sum([1], keepdim: true).MoveToOuterDisposeScope();                // [T, 1]
            minCurvature = full_like(rr, double.PositiveInfinity).MoveToOuterDisposeScope();
            nonPositive = zeros_like(rr, dtype: ScalarType.Bool).MoveToOuterDisposeScope();
        }
        for (var i = 0; i < iterations; i++)
        {
            // Each iteration's Hessian-vector product and temporaries are freed before the next; x, r, p, rr are
            // updated in place.
            using var scope = NewDisposeScope();
            var ap = apply(p).detach();
            using var noGrad = no_grad();
            var pap = (p * ap).sum([1], keepdim: true);
            var pp = (p * p).sum([1], keepdim: true);
            var met = pap.le(pp * floor).logical_and(pp.gt(0));                             // (nearly) non-positive curvature along p
            minCurvature.copy_(minimum(minCurvature, where(pp.gt(0), pap / pp, minCurvature)));
            nonPositive.logical_or_(met);
            var step = truncateBelow is not null
                ? where(nonPositive.logical_not().logical_and(pap.gt(0)), rr / pap, zeros_like(pap))   // a truncated task stays put
                : where(pap.ne(0), rr / pap, zeros_like(pap));                             // α_t
            x.add_(p * step);
            r.sub_(ap * step);
            var rrNext = (r * r).sum([1], keepdim: true);
            var beta = where(rr.ne(0), rrNext / rr, zeros_like(rr));                        // β_t
            if (truncateBelow is null) p.mul_(beta).add_(r);
            else p.copy_(where(nonPositive, p, p * beta + r));                               // a truncated task's p is frozen
            rr.copy_(rrNext);
        }
        Tensor residual;
        using (var end = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            var bb = b.detach().square().sum([1]);
            residual = where(bb.gt(0), (rr.squeeze(1) / bb).sqrt(), rr.squeeze(1).sqrt()).MoveToOuterDisposeScope();
        }
        r.Dispose();
        p.Dispose();
        rr.Dispose();
        return new ConjugateGradientResult(x, residual, minCurvature.squeeze(1), nonPositive.squeeze(1));
    }

    private ProximalSolution Proximal(Tensor theta, Tensor x, Tensor y, int steps)
    {
        if (Options.Solver == ProximalSolver.NewtonCg) return NewtonProximal(theta, x, y, steps);
        if (Options.InnerBacktracking) return MonotoneProximal(theta, x, y, steps);
        var fast = InnerLoop.Expand(theta, x.Dims()[0]).clone();
        var anchor = theta.unsqueeze(0);
        Tensor? initial = null;
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();                                            // memory flat in S
            var gradient = Derive(fast, x, y, curvature: false).Gradient;
            using var noGrad = no_grad();
            if (s == 0) initial = gradient.norm(1).MoveToOuterDisposeScope();               // ∇G(θ) = ∇L(θ)
            // φ ← φ − α·(∇L(φ) + λ(φ − θ))
            fast.sub_((gradient + (fast - anchor) * Options.Lambda) * Options.InnerLr);
        }
        return new ProximalSolution(fast, null, initial);
    }

    /// <summary>
    /// The proximal inner loop with backtracking: per task, a step that raises G(φ) = L(φ) + (λ/2)‖φ − θ‖² (or makes it
    /// non-finite) is undone and that task's rate halved for its remaining steps. Where every step descends, the iterates
    /// are plain SGD's; one extra gradient evaluation (of the last candidate) is the cost.
    /// </summary>
    private ProximalSolution MonotoneProximal(Tensor theta, Tensor x, Tensor y, int steps)
    {
        var fast = InnerLoop.Expand(theta, x.Dims()[0]).clone();
        var rejected = zeros([x.Dims()[0]], ScalarType.Int64, fast.device);                 // undone steps per task
        if (steps == 0) return new ProximalSolution(fast, rejected, null);
        var anchor = theta.unsqueeze(0);
        var (objective, gradient) = ProximalObjective(fast, anchor, x, y);
        Tensor initial;
        using (no_grad()) initial = gradient.norm(1);
        var rate = full([x.Dims()[0], 1], Options.InnerLr, fast.dtype, fast.device);
        var tolerance = RoundingTolerance(fast.dtype);
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var candidate = fast - gradient * rate;
            var (nextObjective, nextGradient) = ProximalObjective(candidate, anchor, x, y);
            // A rise within rounding (a few ulps of G) is not a rise: near the minimum it would only shrink the rate.
            var descends = nextObjective.le(objective + objective.abs() * tolerance);       // false for NaN as well
            fast.copy_(where(descends, candidate, fast));
            objective.copy_(where(descends, nextObjective, objective));
            gradient.copy_(where(descends, nextGradient, gradient));
            rate.copy_(where(descends, rate, rate * 0.5));
            rejected.add_(descends.logical_not().squeeze(1).to(ScalarType.Int64));
        }
        objective.Dispose();
        gradient.Dispose();
        rate.Dispose();
        return new ProximalSolution(fast, rejected, initial);
    }

    /// <summary>64 ulps of 1 in <paramref name="dtype"/>: a relative rise of G below it is rounding, not a rise.</summary>
    private static double RoundingTolerance(ScalarType dtype) =>
        64 * (dtype == ScalarType.Float64 ? Math.BitIncrement(1.0) - 1 : MathF.BitIncrement(1f) - 1);

    /// <summary>Line-search halvings before a Newton step counts as rejected (the shortest trial step is 2⁻¹⁰·d).</summary>
    private const int MaxHalvings = 10;

    /// <summary>Armijo's sufficient-decrease constant c in G(φ + t·d) ≤ G(φ) + c·t·∇Gᵀd.</summary>
    private const double Armijo = 1e-4;

    /// <summary>
    /// The proximal inner loop by Newton-CG, all tasks at once: per step, d solves (I + H/λ)·d = −∇G/λ — the Newton
    /// system (H + λI)·d = −∇G — by <see cref="ImplicitMamlOptions.SolverCgSteps"/> iterations of CG started at the
    /// gradient step −∇G/λ, truncated at curvature pᵀ(I + H/λ)p ≤ μ·pᵀp (μ = <see cref="ImplicitMamlOptions.CgCurvatureFloor"/>
    /// with <see cref="ImplicitMamlOptions.TruncateCg"/>, else 0), so a direction is never taken along H's curvature below
    /// −λ; a d that is not a descent direction is replaced by −∇G/λ. The step is the longest t = 2⁻ᵏ (k ≤ 10) with
    /// G(φ + t·d) ≤ G(φ) + 10⁻⁴·t·∇Gᵀd (within rounding); a task with none keeps φ. G never rises, and near a
    /// minimum where H + λI is positive definite the full step is taken and convergence is quadratic.
    /// </summary>
    private ProximalSolution NewtonProximal(Tensor theta, Tensor x, Tensor y, int steps)
    {
        var tasks = x.Dims()[0];
        var fast = InnerLoop.Expand(theta, tasks).clone();
        var rejected = zeros([tasks], ScalarType.Int64, fast.device);
        if (steps == 0) return new ProximalSolution(fast, rejected, null);
        var anchor = theta.unsqueeze(0);
        var lambda = Options.Lambda;
        var floor = Options.TruncateCg ? Options.CgCurvatureFloor : 0.0;
        var tolerance = RoundingTolerance(fast.dtype);
        Tensor? initial = null;
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();                                            // memory flat in S
            var point = Derive(fast, x, y, curvature: true);
            Tensor objective, gradient;
            using (no_grad())
            {
                var offset = fast - anchor;
                objective = point.Losses.unsqueeze(1) + offset.square().sum([1], keepdim: true) * (lambda / 2);
                gradient = point.Gradient + offset * lambda;
                if (s == 0) initial = gradient.norm(1).MoveToOuterDisposeScope();
            }
            Tensor Apply(Tensor v) => v + point.HessianVectorProduct(v) / lambda;
            var b = gradient / -lambda;
            var direction = ConjugateGradient(Apply, b, b, Options.SolverCgSteps, floor).Solution;
            using var noGrad = no_grad();
            var slope = (gradient * direction).sum([1], keepdim: true);                     // ∇Gᵀd [T, 1]
            var descent = slope.lt(0);
            direction = where(descent, direction, gradient / -lambda);
            slope = where(descent, slope, gradient.square().sum([1], keepdim: true) / -lambda);
            var length = ones_like(slope);
            var accepted = zeros_like(slope, dtype: ScalarType.Bool);
            for (var k = 0; k <= MaxHalvings; k++)
            {
                var candidate = fast + direction * length;
                var value = ProximalValue(candidate, anchor, x, y);
                var ok = value.le(objective + slope * length * Armijo + objective.abs() * tolerance).logical_and(accepted.logical_not());
                fast.copy_(where(ok, candidate, fast));
                accepted.logical_or_(ok);
                if (k == MaxHalvings || accepted.all().ToBoolean()) break;
                length = where(accepted, length, length * 0.5);
            }
            rejected.add_(accepted.logical_not().squeeze(1).to(ScalarType.Int64));
        }
        return new ProximalSolution(fast, rejected, initial);
    }

    /// <summary>Per task, G(φ) = L(φ) + (λ/2)‖φ − θ‖² [T, 1], forward only.</summary>
    private Tensor ProximalValue(Tensor fast, Tensor anchor, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        var losses = Loss.PerTask(Network.Forward(fast, x), y);             // a forward pass: no derivatives needed
        return losses.unsqueeze(1) + (fast - anchor).square().sum([1], keepdim: true) * (Options.Lambda / 2);
    }

    /// <summary>Per task, G(φ) = L(φ) + (λ/2)‖φ − θ‖² [T, 1] and its gradient ∇L(φ) + λ(φ − θ) [T, P], without a graph.</summary>
    private (Tensor Objective, Tensor Gradient) ProximalObjective(Tensor fast, Tensor anchor, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var point = Derive(fast, x, y, curvature: false);
        using var noGrad = no_grad();
        var offset = fast.detach() - anchor;
        var objective = point.Losses.unsqueeze(1) + offset.square().sum([1], keepdim: true) * (Options.Lambda / 2);
        return (objective.MoveToOuterDisposeScope(), (point.Gradient + offset * Options.Lambda).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Each task's support or query loss [T], its gradient w.r.t. the task's own weights [T, P] (no graph), and — with
    /// <paramref name="curvature"/> — Hessian-vector products at the point: the network's hand-derived derivatives when it
    /// is an <see cref="IAnalyticNetwork"/> for this loss (no autograd graph), else autograd (double backward).
    /// </summary>
    private PointDerivatives Derive(Tensor fast, Tensor x, Tensor y, bool curvature)
    {
        if (Network is IAnalyticNetwork analytic && analytic.SupportsAnalytic(Loss))
        {
            using var noGrad = no_grad();
            var pass = analytic.AnalyticPass(fast.detach(), x, y, Loss);
            return new PointDerivatives(pass.TaskLosses(), pass.Gradient(), curvature ? pass.HessianVectorProduct : null);
        }
        using var enabled = enable_grad();
        var point = fast.detach().requires_grad_(true);
        var losses = Loss.PerTask(Network.Forward(point, x), y);
        var gradient = torch.autograd.grad([losses.sum()], [point], retain_graph: curvature, create_graph: curvature)[0];
        Func<Tensor, Tensor>? hvp = curvature
            ? v =>
            {
                using var grad = enable_grad();
                return torch.autograd.grad([gradient], [point], [v], retain_graph: true)[0].detach();
            }
            : null;
        return new PointDerivatives(losses.detach(), gradient.detach(), hvp);
    }

    /// <summary>Per-task loss [T], gradient [T, P] and (when asked for) Hessian-vector products at one point.</summary>
    private sealed record PointDerivatives(Tensor Losses, Tensor Gradient, Func<Tensor, Tensor>? Hvp)
    {
        public Tensor HessianVectorProduct(Tensor v) => (Hvp ?? throw new InvalidOperationException("no curvature was asked for"))(v);
    }
}
