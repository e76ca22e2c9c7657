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
public sealed class AnilTests
{
    public AnilTests() => TorchRuntime.UseThreads(1);

    [Theory]
    [InlineData(1, 8, 8, 1)]
    [InlineData(3, 5, 2)]
    [InlineData(2, 3)]
    public void Mlp_forward_is_head_of_features(params int[] widths)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(widths);
        using var g = new Generator(4);
        var weights = stack(Enumerable.Range(0, 3).Select(_ => network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        var x = randn([3, 5, widths[0]], ScalarType.Float64, generator: g);
        var offset = network.HeadOffset;
        var split = network.Head(weights.narrow(1, offset, network.Layout.Count - offset), network.Features(weights.narrow(1, 0, offset), x));
        Assert.True(MaxAbs(Values(split), Values(network.Forward(weights, x))) <= 1e-14);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Second_order_meta_gradient_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var anil = new Anil(network, steps, 0.1, firstOrder: false);
        var analytic = Values(anil.MetaStep(theta, episode).Gradient);
        var numeric = FiniteDifferences(t => ReferenceObjective(network, t, episode, steps, 0.1), theta);
        AssertClose(analytic, numeric, 1e-6);
        // The body is learned through the outer loss.
        Assert.Contains(analytic.Take((int)network.HeadOffset), v => Math.Abs(v) > 1e-6);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Second_order_meta_gradient_on_a_conv_net_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 2);
        var anil = new Anil(network, TaskLoss.CrossEntropyLoss, steps, 0.3, firstOrder: false);
        var analytic = Values(anil.MetaStep(theta, episode).Gradient);
        var numeric = FiniteDifferences(t => ReferenceObjective(network, TaskLoss.CrossEntropyLoss, t, episode, steps, 0.3), theta);
        AssertClose(analytic, numeric, 1e-6);
        Assert.Contains(analytic.Take((int)network.HeadOffset), v => Math.Abs(v) > 1e-6);
        var fast = anil.Adapt(theta, episode.SupportX, episode.SupportY, steps);
        var body = (int)network.HeadOffset;
        Assert.True(MaxAbs(Values(fast.narrow(1, 0, body)), Values(theta.narrow(0, 0, body).unsqueeze(0).expand(2, -1))) == 0);
    }

    [Fact]
    public void First_order_gradient_is_the_query_gradient_at_the_adapted_weights()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var anil = new Anil(network, 2, 0.1, firstOrder: true);
        var fast = anil.Adapt(theta, episode.SupportX, episode.SupportY, 2).requires_grad_(true);
        var expected = torch.autograd.grad([TaskLoss.MeanSquaredError(network.Forward(fast, episode.QueryX), episode.QueryY).mean()], [fast])[0].sum([0]);
        AssertClose(Values(anil.MetaStep(theta, episode).Gradient), Values(expected), 1e-12);
    }

    [Fact]
    public void Adapt_changes_only_the_head_and_batched_equals_per_task()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 5);
        var anil = new Anil(network, 2, 0.1, firstOrder: false);
        var fast = anil.Adapt(theta, episode.SupportX, episode.SupportY, 3);
        var body = (int)network.HeadOffset;
        Assert.True(MaxAbs(Values(fast.narrow(1, 0, body)), Values(theta.narrow(0, 0, body).unsqueeze(0).expand(5, -1))) == 0);
        Assert.True(MaxAbs(Values(fast.narrow(1, body, network.Layout.Count - body)), Values(theta.narrow(0, body, network.Layout.Count - body).unsqueeze(0).expand(5, -1))) > 1e-4);

        var batched = anil.MetaStep(theta, episode);
        var single = Enumerable.Range(0, 5).Select(t => anil.MetaStep(theta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        var network = new Mlp(1, 4, 1);
        Assert.ThrowsAny<ArgumentException>(() => new Anil(network, 0, 0.1, false));
        Assert.ThrowsAny<ArgumentException>(() => new Anil(network, 1, -0.1, false));
    }

    [Fact]
    public void Meta_loss_falls_on_sinusoids()
    {
        var losses = TrainOnSinusoids(n => new Anil((Mlp)n, 5, 0.05, firstOrder: false), meta => new Adam(meta, 0.003), iterations: 300);
        AssertFalls(losses, 0.7);
    }

    /// <summary>Per task: S steps of the whole network's gradient masked to the last layer, then the mean query loss.</summary>
    private static double ReferenceObjective(Mlp network, Tensor theta, Episode episode, int steps, double lr) =>
        ReferenceObjective(network, TaskLoss.MeanSquaredErrorLoss, theta, episode, steps, lr);

    private static double ReferenceObjective(IHeadNetwork network, ITaskLoss loss, Tensor theta, Episode episode, int steps, double lr)
    {
        using var scope = NewDisposeScope();
        var mask = zeros_like(theta);
        mask.narrow(0, network.HeadOffset, network.Layout.Count - network.HeadOffset).fill_(1);
        var total = 0.0;
        for (var t = 0; t < episode.Tasks; t++)
        {
            var task = episode.Slice(t, 1);
            var phi = theta.unsqueeze(0);
            for (var s = 0; s < steps; s++)
            {
                var point = phi.detach().requires_grad_(true);
                var gradient = torch.autograd.grad([loss.PerTask(network.Forward(point, task.SupportX), task.SupportY).sum()], [point])[0];
                phi = phi - lr * mask * gradient;
            }
            total += loss.PerTask(network.Forward(phi, task.QueryX), task.QueryY).ToDouble();
        }
        return total / episode.Tasks;
    }
}
