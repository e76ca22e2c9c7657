using Meta.Algorithms;
using Meta.Functional;
using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.Algorithms.AlgorithmFixtures;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Algorithms;

[Collection(TorchCollection.Name)]
public sealed class ReptileTests
{
    public ReptileTests() => TorchRuntime.UseThreads(1);    // tiny graphs: one libtorch thread is fastest on a shared machine

    [Fact]
    public void One_task_one_sgd_step_then_an_outer_sgd_step_gives_theta_minus_epsilon_alpha_gradient()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 1);
        const double alpha = 0.05, epsilon = 0.3;
        var reptile = new Reptile(network, new ReptileOptions { InnerSteps = 1, InnerLr = alpha });

        var meta = reptile.InitialMetaParameters(theta);
        using var sgd = new Sgd(meta, epsilon);
        sgd.Step(reptile.MetaStep(meta, episode).Gradient);

        var leaf = theta.detach().requires_grad_(true);
        var loss = TaskLoss.MeanSquaredError(network.Forward(leaf.unsqueeze(0), episode.SupportX), episode.SupportY).sum();
        var gradient = torch.autograd.grad([loss], [leaf])[0];
        var expected = Values(theta - epsilon * alpha * gradient);
        Assert.True(MaxAbs(Values(meta), expected) <= 1e-14);
    }

    [Fact]
    public void Pseudo_gradient_is_theta_minus_the_mean_adapted_weights_and_batched_equals_per_task()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 6);
        var reptile = new Reptile(network, new ReptileOptions { InnerSteps = 3, InnerLr = 0.05 });

        var batched = reptile.MetaStep(theta, episode);
        var fast = reptile.Adapt(theta, episode.SupportX, episode.SupportY, 3);
        Assert.True(MaxAbs(Values(batched.Gradient), Values(theta - fast.mean([0]))) <= 1e-15);

        var single = Enumerable.Range(0, 6).Select(t => reptile.MetaStep(theta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-12);
        Assert.True(MaxAbs(Values(batched.TaskLosses), [.. single.Select(s => s.MetaLoss.ToDouble())]) <= 1e-12);
        Assert.Equal(batched.TaskLosses.mean().ToDouble(), batched.MetaLoss.ToDouble(), 14);
    }

    [Fact]
    public void Task_weights_weight_each_task_difference()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var reptile = new Reptile(network, new ReptileOptions { InnerSteps = 2, InnerLr = 0.05 });
        var w = tensor(new[] { 0.5, 2.0, 0.0 }, ScalarType.Float64);
        var fast = reptile.Adapt(theta, episode.SupportX, episode.SupportY, 2);
        var expected = ((theta.unsqueeze(0) - fast) * w.unsqueeze(1)).sum([0]) / 3;
        Assert.True(MaxAbs(Values(reptile.MetaStep(theta, episode, w).Gradient), Values(expected)) <= 1e-15);
    }

    [Fact]
    public void Inner_adam_with_beta1_zero_matches_TorchSharp_Adam_per_task_with_state_reset_per_task()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        const int steps = 4;
        var options = new ReptileOptions { InnerSteps = steps, InnerLr = 0.01, Optimizer = InnerOptimizer.Adam, AdamBeta1 = 0, AdamBeta2 = 0.99 };
        var reptile = new Reptile(network, options);
        var fast = reptile.Adapt(theta, episode.SupportX, episode.SupportY, steps);

        for (var t = 0; t < 3; t++)
        {
            var p = new TorchSharp.Modules.Parameter(theta.clone());
            var adam = optim.Adam([p], 0.01, beta1: 0, beta2: 0.99);
            for (var s = 0; s < steps; s++)
            {
                adam.zero_grad();
                TaskLoss.MeanSquaredError(network.Forward(p.unsqueeze(0), episode.SupportX.narrow(0, t, 1)), episode.SupportY.narrow(0, t, 1)).sum().backward();
                adam.step();
            }
            Assert.True(MaxAbs(Values(fast[t]), Values(p.detach())) <= 1e-13, $"task {t}");
        }
    }

    [Fact]
    public void Gradient_clipping_bounds_each_task_own_gradient_norm()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        const double alpha = 0.1;
        var unclipped = new Reptile(network, new ReptileOptions { InnerSteps = 1, InnerLr = alpha });
        var norms = (theta.unsqueeze(0) - unclipped.Adapt(theta, episode.SupportX, episode.SupportY, 1)).norm(1) / alpha;   // ‖g_t‖ [T]
        var sorted = Values(norms).Order().ToArray();
        var clip = (sorted[0] + sorted[1]) / 2;                                     // clips two tasks out of three

        var clipped = new Reptile(network, new ReptileOptions { InnerSteps = 1, InnerLr = alpha, ClipNorm = clip });
        var step = theta.unsqueeze(0) - clipped.Adapt(theta, episode.SupportX, episode.SupportY, 1);
        var clippedNorms = Values(step.norm(1) / alpha);
        var original = Values(norms);
        for (var t = 0; t < 3; t++)
            Assert.Equal(Math.Min(original[t], clip), clippedNorms[t], 12);
        // Direction unchanged.
        var plain = theta.unsqueeze(0) - unclipped.Adapt(theta, episode.SupportX, episode.SupportY, 1);
        var cosine = Values((plain * step).sum([1]) / (plain.norm(1) * step.norm(1)));
        Assert.All(cosine, c => Assert.Equal(1.0, c, 12));
    }

    [Fact]
    public void Minibatches_are_drawn_per_task_from_the_given_generator()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4, support: 8);
        using var g1 = new Generator(42);
        var reptile = new Reptile(network, new ReptileOptions { InnerSteps = 1, InnerLr = 0.1, InnerBatchSize = 3 }, g1);
        var gradient = reptile.MetaStep(theta, episode).Gradient;

        // The same draw by hand: a random permutation of the 8 points per task, first 3.
        using var g2 = new Generator(42);
        var index = rand([4, 8], ScalarType.Float64, generator: g2).argsort(1).narrow(1, 0, 3);
        var xs = episode.SupportX.gather(1, index.unsqueeze(2));
        var ys = episode.SupportY.gather(1, index.unsqueeze(2));
        var full = new Reptile(network, new ReptileOptions { InnerSteps = 1, InnerLr = 0.1 });
        var expected = theta - full.Adapt(theta, xs, ys, 1).mean([0]);
        Assert.True(MaxAbs(Values(gradient), Values(expected)) <= 1e-15);
        Assert.True(MaxAbs(Values(gradient), Values(full.MetaStep(theta, episode).Gradient)) > 1e-6, "a minibatch differs from the whole support set");
    }

    [Fact]
    public void Bad_options_are_rejected_with_a_clear_message()
    {
        var network = new Mlp(1, 4, 1);
        using var g = new Generator(1);
        var negative = Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { ClipNorm = -1 }));
        Assert.Contains("clipping norm", negative.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { ClipNorm = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { InnerSteps = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { InnerLr = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { InnerBatchSize = 0 }, g));
        var noGenerator = Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { InnerBatchSize = 5 }));
        Assert.Contains("generator", noGenerator.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new Reptile(network, new ReptileOptions { Optimizer = InnerOptimizer.Adam, AdamBeta1 = 1 }));
    }

    [Fact]
    public void Post_adaptation_loss_falls_on_sinusoids()
    {
        var losses = TrainOnSinusoids(
            n => new Reptile(n, new ReptileOptions { InnerSteps = 5, InnerLr = 0.02 }),
            meta => new Sgd(meta, 0.5), iterations: 300);
        AssertFalls(losses, 0.7);
    }
}
