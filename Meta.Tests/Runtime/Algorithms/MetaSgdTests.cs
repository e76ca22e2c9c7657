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
public sealed class MetaSgdTests
{
    public MetaSgdTests() => TorchRuntime.UseThreads(1);    // tiny graphs: one libtorch thread is fastest on a shared machine

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Meta_gradient_wrt_theta_and_alpha_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var metaSgd = new MetaSgd(network, steps, 0.05);
        using var g = new Generator(12);
        var meta = cat([theta, 0.03 + 0.04 * rand([theta.shape[0]], ScalarType.Float64, generator: g)], 0);  // non-uniform α

        var analytic = Values(metaSgd.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, m, episode, steps), meta);

        var p = (int)theta.shape[0];
        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..], numeric[p..], 1e-6, "α part");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void With_sigmoid_rates_the_meta_gradient_wrt_theta_and_the_stored_logits_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var mapping = LearnedRateMapping.Sigmoid(0.2);
        var metaSgd = new MetaSgd(network, steps, 0.05, rates: mapping);
        using var g = new Generator(13);
        var meta = metaSgd.InitialMetaParameters(theta);
        var p = (int)theta.shape[0];
        meta.narrow(0, p, p).add_(2 * rand([p], ScalarType.Float64, generator: g) - 1);   // rates spread over (0.02, 0.1)

        var step = metaSgd.MetaStep(meta, episode);
        var analytic = Values(step.Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, m, episode, steps, mapping), meta);

        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..], numeric[p..], 1e-6, "logit part");
        var rates = Values(metaSgd.LearningRates(meta));
        Assert.All(rates, a => Assert.InRange(a, 0.0, 0.2));
        Assert.Equal(rates.Min(), step.Diagnostics!["rates.min"], 12);
        Assert.Equal(0.0, step.Diagnostics["rates.negative"]);
        Assert.True(step.Diagnostics["inner.ratio.median"] > 0);
    }

    [Fact]
    public void With_sigmoid_rates_alpha_starts_at_the_inner_rate_and_adapt_uses_the_same_rates()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 2);
        var bounded = new MetaSgd(network, 2, 0.05, rates: LearnedRateMapping.Sigmoid(0.5));
        var direct = new MetaSgd(network, 2, 0.05);
        var meta = bounded.InitialMetaParameters(theta);
        AssertClose(Values(bounded.LearningRates(meta)), Values(full_like(theta, 0.05)), 1e-14);
        // Same rates, two storages: identical adaptation, at training and at test time.
        var adapted = bounded.Adapt(meta, episode.SupportX, episode.SupportY, 3);
        var reference = direct.Adapt(direct.InitialMetaParameters(theta), episode.SupportX, episode.SupportY, 3);
        AssertClose(Values(adapted.flatten()), Values(reference.flatten()), 1e-12);
        AssertClose(Values(bounded.MetaStep(meta, episode).TaskLosses), Values(direct.MetaStep(direct.InitialMetaParameters(theta), episode).TaskLosses), 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetaSgd(network, 1, 0.5, rates: LearnedRateMapping.Sigmoid(0.5)));
    }

    [Fact]
    public void The_papers_random_initial_rates_lie_in_the_range_are_fixed_by_the_generator_and_go_through_the_mapping()
    {
        using var scope = NewDisposeScope();
        var (network, theta, _) = SmallProblem(tasks: 1);
        double[] Draw(LearnedRateMapping mapping, ulong seed)
        {
            using var g = new Generator(seed);
            var metaSgd = new MetaSgd(network, 1, 0.01, rates: mapping).WithRandomInitialRates(0.005, 0.1, g);
            return Values(metaSgd.LearningRates(metaSgd.InitialMetaParameters(theta)));
        }
        var direct = Draw(LearnedRateMapping.Direct, 5);
        Assert.All(direct, a => Assert.InRange(a, 0.005, 0.1));
        Assert.True(direct.Max() - direct.Min() > 0.05, "the rates are spread over the range");
        Assert.Equal(direct, Draw(LearnedRateMapping.Direct, 5));
        Assert.NotEqual(direct, Draw(LearnedRateMapping.Direct, 6));
        AssertClose(Draw(LearnedRateMapping.Sigmoid(0.2), 5), direct, 1e-12);
        using var g = new Generator(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetaSgd(network, 1, 0.01, rates: LearnedRateMapping.Sigmoid(0.1)).WithRandomInitialRates(0.005, 0.1, g));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MetaSgd(network, 1, 0.01).WithRandomInitialRates(0.1, 0.05, g));
    }

    [Fact]
    public void With_a_uniform_alpha_the_theta_gradient_is_maml_and_alpha_starts_at_the_inner_rate()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var metaSgd = new MetaSgd(network, 2, 0.05);
        var meta = metaSgd.InitialMetaParameters(theta);
        Assert.Equal(2 * theta.shape[0], meta.shape[0]);
        Assert.All(Values(metaSgd.LearningRates(meta)), a => Assert.Equal(0.05, a));
        Assert.True(MaxAbs(Values(metaSgd.Weights(meta)), Values(theta)) == 0);

        var ours = metaSgd.MetaStep(meta, episode);
        var maml = new Maml(network, 2, 0.05, firstOrder: false).MetaStep(theta, episode);
        AssertClose(Values(metaSgd.Weights(ours.Gradient)), Values(maml.Gradient), 1e-12);
        Assert.Equal(maml.MetaLoss.ToDouble(), ours.MetaLoss.ToDouble(), 12);
    }

    [Fact]
    public void Batched_meta_step_equals_the_per_task_computation()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 6);
        var metaSgd = new MetaSgd(network, 2, 0.05);
        using var g = new Generator(2);
        var meta = cat([theta, 0.03 + 0.04 * rand([theta.shape[0]], ScalarType.Float64, generator: g)], 0);
        var batched = metaSgd.MetaStep(meta, episode);
        var single = Enumerable.Range(0, 6).Select(t => metaSgd.MetaStep(meta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10);
        Assert.True(MaxAbs(Values(batched.TaskLosses), [.. single.Select(s => s.MetaLoss.ToDouble())]) <= 1e-10);
    }

    [Fact]
    public void First_order_still_learns_alpha_through_the_update()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var first = new MetaSgd(network, 1, 0.05, firstOrder: true);
        var meta = first.InitialMetaParameters(theta);
        var gradient = first.MetaStep(meta, episode).Gradient;
        // One step: φ = θ − α ⊙ g(θ) with g constant, so ∂L/∂α = −g ⊙ ∇L_q(φ) averaged over tasks.
        var fast = first.Adapt(meta, episode.SupportX, episode.SupportY, 1).requires_grad_(true);
        var queryGradient = torch.autograd.grad([TaskLoss.MeanSquaredError(network.Forward(fast, episode.QueryX), episode.QueryY).mean()], [fast])[0];
        var point = InnerGradient(network, theta.unsqueeze(0).expand(3, -1), episode.SupportX, episode.SupportY);
        var expected = (-point * queryGradient).sum([0]);
        AssertClose(Values(first.LearningRates(gradient)), Values(expected), 1e-12);
        AssertClose(Values(first.Weights(gradient)), Values(queryGradient.sum([0])), 1e-12);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        var network = new Mlp(1, 4, 1);
        Assert.ThrowsAny<ArgumentException>(() => new MetaSgd(network, 0, 0.01));
        Assert.ThrowsAny<ArgumentException>(() => new MetaSgd(network, 1, 0));
        using var scope = NewDisposeScope();
        var (small, theta, episode) = SmallProblem(tasks: 2);
        var metaSgd = new MetaSgd(small, 1, 0.01);
        var e = Assert.Throws<ArgumentException>(() => metaSgd.MetaStep(theta, episode));     // θ alone is not [θ, α]
        Assert.Contains("θ and α", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Meta_loss_falls_on_sinusoids()
    {
        var losses = TrainOnSinusoids(n => new MetaSgd(n, 1, 0.01), meta => new Adam(meta, 0.003), iterations: 300);
        AssertFalls(losses, 0.7);
    }

    /// <summary>The outer objective written out per task: S steps φ ← φ − α ⊙ ∇L_s(φ), then the mean query loss.</summary>
    private static double ReferenceObjective(Mlp network, Tensor meta, Episode episode, int steps, LearnedRateMapping? mapping = null)
    {
        using var scope = NewDisposeScope();
        var p = network.Layout.Count;
        var theta = meta.narrow(0, 0, p);
        var stored = meta.narrow(0, p, p);
        var alpha = mapping is null ? stored : 0.2 * stored.sigmoid();   // the only mapping tested: a sigmoid bounded by 0.2
        var total = 0.0;
        for (var t = 0; t < episode.Tasks; t++)
        {
            var task = episode.Slice(t, 1);
            var phi = theta.unsqueeze(0);
            for (var s = 0; s < steps; s++)
                phi = phi - alpha * InnerGradient(network, phi, task.SupportX, task.SupportY);
            total += TaskLoss.MeanSquaredError(network.Forward(phi, task.QueryX), task.QueryY).ToDouble();
        }
        return total / episode.Tasks;
    }

    private static Tensor InnerGradient(Mlp network, Tensor weights, Tensor x, Tensor y)
    {
        var point = weights.detach().requires_grad_(true);
        return torch.autograd.grad([TaskLoss.MeanSquaredError(network.Forward(point, x), y).sum()], [point])[0];
    }
}
