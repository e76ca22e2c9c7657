using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.Algorithms.AlgorithmFixtures;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Algorithms;

[Collection(TorchCollection.Name)]
public sealed class ImplicitMamlTests
{
    public ImplicitMamlTests() => TorchRuntime.UseThreads(1);    // tiny graphs: one libtorch thread is fastest on a shared machine

    [Fact]
    public void Linear_model_with_squared_loss_gives_the_closed_form_implicit_gradient()
    {
        // f(x) = x·w + b; with x̃ = [x, 1] the support loss is (1/K)‖X̃φ − y‖², so H = (2/K)X̃ᵀX̃ exactly and
        // φ* = argmin L(φ) + (λ/2)‖φ − θ‖² = (H + λI)⁻¹(λθ + (2/K)X̃ᵀy). The meta-gradient is (I + H/λ)⁻¹ ∇L_q(φ*).
        using var scope = NewDisposeScope();
        const int tasks = 3, features = 3, support = 6, query = 5;
        const double lambda = 1.0;
        var network = new Mlp(features, 1);
        using var g = new Generator(17);
        var theta = randn([features + 1], ScalarType.Float64, generator: g);
        var episode = new Episode(
            randn([tasks, support, features], ScalarType.Float64, generator: g), randn([tasks, support, 1], ScalarType.Float64, generator: g),
            randn([tasks, query, features], ScalarType.Float64, generator: g), randn([tasks, query, 1], ScalarType.Float64, generator: g));
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 400, InnerLr = 0.1, Lambda = lambda, CgSteps = 10 });

        var expected = ClosedFormGradient(theta, episode, lambda, out _);
        var actual = imaml.MetaStep(theta, episode).Gradient;
        AssertClose(Values(actual), Values(expected), 1e-10, "iMAML vs dense solve");

        // And that is the true derivative of the converged inner problem's query loss w.r.t. θ.
        var numeric = FiniteDifferences(t => ClosedFormQueryLoss(t, episode, lambda), theta);
        AssertClose(Values(actual), numeric, 1e-7, "iMAML vs finite differences of L_q(φ*(θ))");
    }

    [Fact]
    public void Conjugate_gradient_on_a_small_mlp_matches_a_dense_solve_with_the_autograd_hessian()
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(1, 4, 4, 1);
        using var g = new Generator(3);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        var episode = family.Episode(family.Sample(3, g), 6, 5, g);
        const double lambda = 2.0;
        // The paper's plain CG: at λ = 2 this system is indefinite, where truncated CG stops short of the dense solve by design.
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 5, InnerLr = 0.02, Lambda = lambda, CgSteps = 100, TruncateCg = false });

        var phi = imaml.Adapt(theta, episode.SupportX, episode.SupportY, 5);
        var point = phi.requires_grad_(true);
        var supportGradient = torch.autograd.grad([TaskLoss.MeanSquaredErrorLoss.Summed(network.Forward(point, episode.SupportX), episode.SupportY)],
            [point], retain_graph: true, create_graph: true)[0];
        var p = network.Layout.Count;
        var columns = new List<Tensor>();
        for (var i = 0; i < p; i++)
        {
            var unit = zeros([3, p], ScalarType.Float64);
            unit[TensorIndex.Colon, i] = tensor(1.0, ScalarType.Float64);
            columns.Add(torch.autograd.grad([supportGradient], [point], [unit], retain_graph: true)[0]);
        }
        var hessian = stack(columns, 2);                                                     // [T, P, P]
        Assert.True(MaxAbs(Values(hessian), Values(hessian.transpose(1, 2))) < 1e-12, "the Hessian is symmetric");
        var queryGradient = torch.autograd.grad([TaskLoss.MeanSquaredError(network.Forward(point, episode.QueryX), episode.QueryY).sum()], [point])[0];
        var system = eye(p, dtype: ScalarType.Float64).unsqueeze(0) + hessian / lambda;
        var dense = linalg.solve(system, queryGradient.unsqueeze(2)).squeeze(2).mean([0]);

        AssertClose(Values(imaml.MetaStep(theta, episode).Gradient), Values(dense), 1e-8, "CG vs dense");
        // Five CG steps (the default) are already close; one is not the first-order answer.
        var five = new ImplicitMaml(network, imaml.Options with { CgSteps = 5 }).MetaStep(theta, episode).Gradient;
        Assert.True(RelativeError(Values(five), Values(dense)) < 0.1);
        var firstOrder = Values(queryGradient.mean([0]));
        Assert.True(RelativeError(firstOrder, Values(dense)) > 1e-3, "the implicit correction matters on this problem");
    }

    [Fact]
    public void Batched_conjugate_gradient_solves_independent_spd_systems_exactly_in_P_steps()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(8);
        var a = randn([4, 6, 6], ScalarType.Float64, generator: g);
        var spd = a.matmul(a.transpose(1, 2)) + eye(6, dtype: ScalarType.Float64) * 0.5;
        var b = randn([4, 6], ScalarType.Float64, generator: g);
        var x = ImplicitMaml.ConjugateGradient(v => spd.matmul(v.unsqueeze(2)).squeeze(2), b, b, 6);
        AssertClose(Values(x), Values(linalg.solve(spd, b.unsqueeze(2)).squeeze(2)), 1e-9);
        // An already solved task stays put (no 0/0).
        var solved = linalg.solve(spd, b.unsqueeze(2)).squeeze(2);
        var again = ImplicitMaml.ConjugateGradient(v => spd.matmul(v.unsqueeze(2)).squeeze(2), b, solved, 3);
        Assert.False(again.isnan().any().ToBoolean());
    }

    [Fact]
    public void Truncated_conjugate_gradient_never_steps_along_non_positive_curvature_and_plain_cg_is_unchanged()
    {
        // Three 2×2 systems, x₀ = b = [1, 1]:
        // task 0, A = diag(2, −1): p₀ = r₀ = b − Ab = [−1, 2], p₀ᵀAp₀ = 2 − 4 = −2 ≤ 0 at once: truncated CG keeps x₀.
        // task 1, A = diag(−1, −2): p₀ = [2, 3], p₀ᵀAp₀ = −4 − 18 < 0: keeps x₀ too.
        // task 2, A = diag(3, 1) (positive definite): solved exactly in two steps, guard or not, x = [1/3, 1].
        using var scope = NewDisposeScope();
        var a = stack([diag(tensor(new[] { 2.0, -1.0 })), diag(tensor(new[] { -1.0, -2.0 })), diag(tensor(new[] { 3.0, 1.0 }))]);
        Tensor Apply(Tensor v) => a.matmul(v.unsqueeze(2)).squeeze(2);
        var b = ones([3, 2], ScalarType.Float64);

        var guarded = ImplicitMaml.ConjugateGradient(Apply, b, b, 5, truncateBelow: 0);
        AssertClose(Values(guarded.Solution), [1, 1, 1, 1, 1.0 / 3, 1], 1e-12, "truncated CG");
        Assert.Equal(new[] { true, true, false }, guarded.NonPositive.data<bool>().ToArray());
        var curvature = guarded.MinCurvature.data<double>().ToArray();
        Assert.Equal(-2.0 / 5, curvature[0], 12);                                           // p₀ᵀAp₀/p₀ᵀp₀ of task 0
        Assert.Equal(-22.0 / 13, curvature[1], 12);
        Assert.True(curvature[2] > 0);
        var residual = guarded.Residual.data<double>().ToArray();
        Assert.Equal(Math.Sqrt(5.0 / 2), residual[0], 12);                                  // ‖b − Ab‖/‖b‖, unchanged
        Assert.True(residual[2] < 1e-12);

        // Without the guard: the paper's CG, identical to the four-argument overload, steps along the negative
        // curvature (task 0 solves its indefinite 2×2 system exactly in two steps: x = A⁻¹b = [1/2, −1]).
        var plain = ImplicitMaml.ConjugateGradient(Apply, b, b, 2, truncateBelow: null);
        var before = ImplicitMaml.ConjugateGradient(Apply, b, b, 2);
        Assert.Equal(Values(before), Values(plain.Solution));
        AssertClose(Values(plain.Solution)[..2], [0.5, -1], 1e-12, "plain CG on an indefinite system");
        Assert.Equal(new[] { true, true, false }, plain.NonPositive.data<bool>().ToArray());
    }

    [Fact]
    public void Inner_backtracking_keeps_a_diverging_proximal_loop_descending_and_leaves_a_descending_one_unchanged()
    {
        // A linear model on inputs of scale 10: the support Hessian (2/K)X̃ᵀX̃ has eigenvalues in the hundreds, so
        // α(λ + h_max) ≫ 2 at α = 0.1 and plain proximal SGD diverges; at α = 1e-4 every step descends.
        using var scope = NewDisposeScope();
        const int tasks = 2, features = 3, support = 6;
        const double lambda = 1.0;
        var network = new Mlp(features, 1);
        using var g = new Generator(5);
        var theta = randn([features + 1], ScalarType.Float64, generator: g);
        var x = randn([tasks, support, features], ScalarType.Float64, generator: g) * 10;
        var y = randn([tasks, support, 1], ScalarType.Float64, generator: g);
        double[] Objective(Tensor phi) => Values(TaskLoss.MeanSquaredError(network.Forward(phi, x), y)
            + (phi - theta.unsqueeze(0)).square().sum([1]) * (lambda / 2));
        var start = Objective(theta.unsqueeze(0).expand(tasks, -1));

        var options = new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 20, InnerLr = 0.1, Lambda = lambda };
        var plain = Objective(new ImplicitMaml(network, options with { InnerBacktracking = false }).Adapt(theta, x, y, 20));
        Assert.All(plain.Zip(start), p => Assert.True(!double.IsFinite(p.First) || p.First > 1e6 * p.Second, "plain SGD diverges"));
        var guarded = Objective(new ImplicitMaml(network, options).Adapt(theta, x, y, 20));
        Assert.All(guarded.Zip(start), p => Assert.True(p.First < 0.5 * p.Second, "backtracking descends"));

        var slow = options with { InnerLr = 1e-4 };
        var plainSlow = new ImplicitMaml(network, slow with { InnerBacktracking = false }).Adapt(theta, x, y, 20);
        var guardedSlow = new ImplicitMaml(network, slow).Adapt(theta, x, y, 20);
        AssertClose(Values(guardedSlow), Values(plainSlow), 1e-12, "where every step descends, the iterates are plain SGD's");
    }

    [Fact]
    public void Newton_cg_solves_a_linear_models_proximal_problem_in_one_step_and_gives_the_closed_form_gradient()
    {
        // On a quadratic support loss one exact Newton step lands on φ* (the full step passes the line search), so
        // S = 1 with enough CG iterations gives the closed-form implicit gradient where GD needed 400 steps.
        using var scope = NewDisposeScope();
        const int tasks = 3, features = 3;
        const double lambda = 1.0;
        var network = new Mlp(features, 1);
        using var g = new Generator(17);
        var theta = randn([features + 1], ScalarType.Float64, generator: g);
        var episode = new Episode(
            randn([tasks, 6, features], ScalarType.Float64, generator: g), randn([tasks, 6, 1], ScalarType.Float64, generator: g),
            randn([tasks, 5, features], ScalarType.Float64, generator: g), randn([tasks, 5, 1], ScalarType.Float64, generator: g));
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions
        {
            Solver = ProximalSolver.NewtonCg, InnerSteps = 1, SolverCgSteps = 10, Lambda = lambda, CgSteps = 10,
        });

        var expected = ClosedFormGradient(theta, episode, lambda, out var phi);
        AssertClose(Values(imaml.Adapt(theta, episode.SupportX, episode.SupportY, 1)), Values(phi), 1e-10, "one Newton step vs φ*");
        var step = imaml.MetaStep(theta, episode);
        AssertClose(Values(step.Gradient), Values(expected), 1e-10, "iMAML (Newton-CG) vs dense solve");
        Assert.True(step.Diagnostics!["inner.stationarity.max"] < 1e-10, "‖∇G(φ)‖/‖∇G(θ)‖ at the optimum");
        Assert.Equal(0, step.Diagnostics["inner.rejected.fraction"]);
    }

    [Fact]
    public void The_implicit_gradient_is_the_true_hypergradient_once_the_inner_loop_solves_the_proximal_problem()
    {
        // The implicit meta-gradient (I + H/λ)⁻¹∇L_q(φ) is the derivative of θ ↦ L_q(φ*(θ)) only at the proximal optimum
        // φ*. Newton-CG reaches it and matches central finite differences of the query loss after
        // the same inner loop; five small GD steps stop far from φ*, and the same formula then misses the derivative of
        // the loss it reports by tens of per cent — why iMAML trained badly on a five-step protocol.
        using var scope = NewDisposeScope();
        var network = new Mlp(Activation.Tanh, 1, 4, 4, 1);                                 // P = 33
        using var g = new Generator(11);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        var episode = family.Episode(family.Sample(3, g), 8, 6, g);
        const double lambda = 5.0;
        double QueryLoss(ImplicitMaml imaml, Tensor t, int steps)
        {
            using var inner = NewDisposeScope();
            var phi = imaml.Adapt(t, episode.SupportX, episode.SupportY, steps);
            return TaskLoss.MeanSquaredError(network.Forward(phi, episode.QueryX), episode.QueryY).mean().ToDouble();
        }

        var newton = new ImplicitMaml(network, new ImplicitMamlOptions
        {
            Solver = ProximalSolver.NewtonCg, InnerSteps = 12, SolverCgSteps = 33, Lambda = lambda, CgSteps = 33,
        });
        var step = newton.MetaStep(theta, episode);
        Assert.True(step.Diagnostics!["inner.stationarity.max"] < 1e-10, $"Newton-CG reached φ* (stationarity {step.Diagnostics["inner.stationarity.max"]:g3})");
        var numeric = FiniteDifferences(t => QueryLoss(newton, t, 12), theta);
        Assert.True(RelativeError(Values(step.Gradient), numeric) < 1e-6, $"implicit vs finite differences: {RelativeError(Values(step.Gradient), numeric):g3}");

        var gd = new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 5, InnerLr = 0.01, Lambda = lambda, CgSteps = 33 });
        var gdStep = gd.MetaStep(theta, episode);
        Assert.True(gdStep.Diagnostics!["inner.stationarity.max"] > 0.3, $"five GD steps stop short (stationarity {gdStep.Diagnostics["inner.stationarity.max"]:g3})");
        var gdNumeric = FiniteDifferences(t => QueryLoss(gd, t, 5), theta);
        Assert.True(RelativeError(Values(gdStep.Gradient), gdNumeric) > 0.1, $"implicit vs the unrolled GD loop: {RelativeError(Values(gdStep.Gradient), gdNumeric):g3}");
    }

    [Fact]
    public void Newton_cg_never_raises_the_proximal_objective_even_where_it_is_not_convex()
    {
        // λ = 0.5 is below the magnitude of the support Hessian's negative eigenvalues at this initialisation, so H + λI is
        // indefinite: truncated CG and the line search must still give G(φ₀) ≥ G(φ₁) ≥ … and finite iterates.
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        const double lambda = 0.5;
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.NewtonCg, Lambda = lambda, SolverCgSteps = 5 });
        double[] Objective(Tensor phi) => Values(TaskLoss.MeanSquaredError(network.Forward(phi, episode.SupportX), episode.SupportY)
            + (phi - theta.unsqueeze(0)).square().sum([1]) * (lambda / 2));
        var previous = Objective(theta.unsqueeze(0).expand(4, -1));
        for (var steps = 1; steps <= 6; steps++)
        {
            var current = Objective(imaml.Adapt(theta, episode.SupportX, episode.SupportY, steps));
            Assert.All(current.Zip(previous), p => Assert.True(double.IsFinite(p.First) && p.First <= p.Second * (1 + 1e-12), $"step {steps}: {p.First} after {p.Second}"));
            previous = current;
        }
    }

    [Fact]
    public void The_meta_step_reports_its_cg_and_inner_loop_diagnostics()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var step = new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 4, InnerLr = 0.05, Lambda = 1.5, CgSteps = 5 }).MetaStep(theta, episode);
        var d = step.Diagnostics!;
        Assert.Equal(["cg.residual.max", "cg.curvature.min", "cg.nonpositive.tasks", "implicit_gradient.norm.max", "inner.loss_ratio.max", "inner.rejected.fraction",
            "inner.stationarity.max", "inner.stationarity.mean"], d.Keys);
        Assert.All(d.Values, v => Assert.True(double.IsFinite(v)));
        Assert.InRange(d["cg.nonpositive.tasks"], 0, 3);
        Assert.True(d["inner.loss_ratio.max"] < 1, "a few small proximal steps lower every task's support loss");
        Assert.True(d["implicit_gradient.norm.max"] > 0);
    }

    [Fact]
    public void Batched_meta_step_equals_the_per_task_computation()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 5);
        foreach (var solver in new[] { ProximalSolver.GradientDescent, ProximalSolver.NewtonCg })
        {
            // Newton-CG's line search is per task too: a task's step length never depends on the others.
            var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { InnerSteps = 4, InnerLr = 0.05, Lambda = 1.5, CgSteps = 5, Solver = solver });
            var batched = imaml.MetaStep(theta, episode);
            var single = Enumerable.Range(0, 5).Select(t => imaml.MetaStep(theta, episode.Slice(t, 1))).ToList();
            Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10, solver.ToString());
            Assert.True(MaxAbs(Values(batched.TaskLosses), [.. single.Select(s => s.MetaLoss.ToDouble())]) <= 1e-10, solver.ToString());
        }
    }

    [Fact]
    public void Bad_options_are_rejected_before_any_autograd_call()
    {
        var network = new Mlp(1, 4, 1);
        var lambda = Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { Lambda = 0 }));
        Assert.Contains("λ", lambda.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { Lambda = -1 }));
        Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { Lambda = double.NaN }));
        var cg = Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { CgSteps = 0 }));
        Assert.Contains("conjugate-gradient", cg.Message, StringComparison.Ordinal);
        var solverCg = Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { SolverCgSteps = 0 }));
        Assert.Contains("Newton-CG", solverCg.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new ImplicitMaml(network, new ImplicitMamlOptions { Solver = (ProximalSolver)7 }));
        using var scope = NewDisposeScope();
        var (small, theta, episode) = SmallProblem(tasks: 2);
        var imaml = new ImplicitMaml(small, new ImplicitMamlOptions());
        Assert.Throws<ArgumentException>(() => imaml.MetaStep(theta.narrow(0, 0, 5), episode));
        Assert.Throws<ArgumentException>(() => imaml.MetaStep(theta, episode, ones(3, ScalarType.Float64)));
    }

    [Fact]
    public void Meta_loss_falls_on_sinusoids()
    {
        var losses = TrainOnSinusoids(
            n => new ImplicitMaml(n, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = 10, InnerLr = 0.02, Lambda = 5, CgSteps = 5 }),
            meta => new Adam(meta, 0.003), iterations: 300);
        AssertFalls(losses, 0.7);
    }

    private static Tensor ClosedFormGradient(Tensor theta, Episode episode, double lambda, out Tensor phi)
    {
        var (h, b) = Quadratic(episode.SupportX, episode.SupportY);
        var p = theta.shape[0];
        var identity = eye(p, dtype: ScalarType.Float64).unsqueeze(0);
        phi = linalg.solve(h + identity * lambda, (theta * lambda).unsqueeze(0).unsqueeze(2) + b).squeeze(2);   // [T, P]
        var (hq, bq) = Quadratic(episode.QueryX, episode.QueryY);
        var queryGradient = (hq.matmul(phi.unsqueeze(2)) - bq).squeeze(2);
        return linalg.solve(identity + h / lambda, queryGradient.unsqueeze(2)).squeeze(2).mean([0]);
    }

    private static double ClosedFormQueryLoss(Tensor theta, Episode episode, double lambda)
    {
        using var scope = NewDisposeScope();
        ClosedFormGradient(theta, episode, lambda, out var phi);
        var network = new Mlp((int)episode.QueryX.shape[2], 1);
        return TaskLoss.MeanSquaredError(network.Forward(phi, episode.QueryX), episode.QueryY).mean().ToDouble();
    }

    /// <summary>H = (2/N)X̃ᵀX̃ and b = (2/N)X̃ᵀy per task, so that ∇(1/N)‖X̃φ − y‖² = Hφ − b.</summary>
    private static (Tensor H, Tensor B) Quadratic(Tensor x, Tensor y)
    {
        var n = x.shape[1];
        var augmented = cat([x, ones([x.shape[0], n, 1], ScalarType.Float64)], 2);
        return (augmented.transpose(1, 2).matmul(augmented) * (2.0 / n), augmented.transpose(1, 2).matmul(y) * (2.0 / n));
    }
}
