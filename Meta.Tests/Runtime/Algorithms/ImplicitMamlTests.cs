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
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { InnerSteps = 400, InnerLr = 0.1, Lambda = lambda, CgSteps = 10 });

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
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { InnerSteps = 5, InnerLr = 0.02, Lambda = lambda, CgSteps = 100 });

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
    public void Batched_meta_step_equals_the_per_task_computation()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 5);
        var imaml = new ImplicitMaml(network, new ImplicitMamlOptions { InnerSteps = 4, InnerLr = 0.05, Lambda = 1.5, CgSteps = 5 });
        var batched = imaml.MetaStep(theta, episode);
        var single = Enumerable.Range(0, 5).Select(t => imaml.MetaStep(theta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10);
        Assert.True(MaxAbs(Values(batched.TaskLosses), [.. single.Select(s => s.MetaLoss.ToDouble())]) <= 1e-10);
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
            n => new ImplicitMaml(n, new ImplicitMamlOptions { InnerSteps = 10, InnerLr = 0.02, Lambda = 5, CgSteps = 5 }),
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
