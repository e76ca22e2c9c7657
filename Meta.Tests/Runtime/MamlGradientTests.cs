using Meta.Algorithms;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime;

[Collection(TorchCollection.Name)]
public sealed class MamlGradientTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Second_order_meta_gradient_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var maml = new Maml(network, steps, innerLr: 0.05, firstOrder: false);

        var analytic = Values(maml.MetaStep(theta, episode).Gradient);
        var numeric = FiniteDifferences(t => PostAdaptationQueryLoss(maml, t, episode), theta);

        Assert.True(RelativeError(analytic, numeric) <= 1e-6, $"relative error {RelativeError(analytic, numeric):E2}");
    }

    [Fact]
    public void Second_order_differs_from_first_order()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var second = Values(new Maml(network, 2, 0.05, firstOrder: false).MetaStep(theta, episode).Gradient);
        var first = Values(new Maml(network, 2, 0.05, firstOrder: true).MetaStep(theta, episode).Gradient);
        Assert.True(RelativeError(first, second) > 1e-4, "first- and second-order gradients should differ on a curved loss");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void First_order_meta_gradient_is_the_mean_query_gradient_at_the_adapted_weights(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 5);
        var maml = new Maml(network, steps, innerLr: 0.05, firstOrder: true);

        var fast = maml.Adapt(theta, episode.SupportX, episode.SupportY, steps, differentiable: false).detach().requires_grad_(true);
        var queryLoss = TaskLoss.MeanSquaredError(network.Forward(fast, episode.QueryX), episode.QueryY).mean();
        var perTask = torch.autograd.grad([queryLoss], [fast])[0];           // [T, P], already divided by T
        var expected = Values(perTask.sum(0L));
        Assert.Equal(theta.shape[0], expected.Length);

        var actual = Values(maml.MetaStep(theta, episode).Gradient);
        Assert.Equal(theta.shape[0], actual.Length);
        Assert.True(RelativeError(actual, expected) <= 1e-12, $"relative error {RelativeError(actual, expected):E2}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batched_meta_step_over_25_tasks_equals_the_per_task_computation(bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 25);
        var maml = new Maml(network, 2, innerLr: 0.05, firstOrder);

        var batched = maml.MetaStep(theta, episode);
        var perTaskGradients = new List<Tensor>();
        var perTaskLosses = new List<double>();
        for (var t = 0; t < 25; t++)
        {
            var single = maml.MetaStep(theta, episode.Slice(t, 1));
            perTaskGradients.Add(single.Gradient);
            perTaskLosses.Add(single.MetaLoss.ToDouble());
        }
        var expected = Values(stack(perTaskGradients).mean([0]));

        Assert.True(MaxAbs(Values(batched.Gradient), expected) <= 1e-10);
        Assert.True(MaxAbs(Values(batched.TaskLosses), [.. perTaskLosses]) <= 1e-10);
        Assert.Equal(perTaskLosses.Average(), batched.MetaLoss.ToDouble(), 10);
    }

    [Fact]
    public void Task_weights_scale_each_task_loss_before_the_mean()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        var weights = tensor(new[] { 0.5, 2.0, 0.0 }, ScalarType.Float64);

        var weighted = maml.MetaStep(theta, episode, weights);
        var expected = (weighted.TaskLosses * weights).mean().ToDouble();

        Assert.Equal(expected, weighted.MetaLoss.ToDouble(), 12);
        var third = maml.MetaStep(theta, episode.Slice(2, 1));
        var withoutThird = Values(weighted.Gradient);
        var firstTwo = Values((maml.MetaStep(theta, episode.Slice(0, 1)).Gradient * 0.5 + maml.MetaStep(theta, episode.Slice(1, 1)).Gradient * 2.0) / 3.0);
        Assert.True(MaxAbs(withoutThird, firstTwo) <= 1e-10);
        _ = third;
    }

    [Fact]
    public void Scalar_maml_matches_the_closed_form()
    {
        // One task, model f(x) = w·x, squared loss: L_s(w) = (w·a − b)², L_q(w) = (w·c − d)².
        // w' = w − α·2a(wa − b); dL_q/dw = 2c(w'c − d)·(1 − 2αa²).
        using var scope = NewDisposeScope();
        var network = new Meta.Functional.Mlp(1, 1);
        double w = 0.7, a = 1.3, b = 0.4, c = -0.6, d = 0.9, alpha = 0.1;
        var theta = tensor(new[] { w, 0.0 }, ScalarType.Float64);
        var episode = new Meta.Tasks.Episode(
            tensor(new[] { a }, ScalarType.Float64).view(1, 1, 1), tensor(new[] { b }, ScalarType.Float64).view(1, 1, 1),
            tensor(new[] { c }, ScalarType.Float64).view(1, 1, 1), tensor(new[] { d }, ScalarType.Float64).view(1, 1, 1));

        var gradient = Values(new Maml(network, 1, alpha, firstOrder: false).MetaStep(theta, episode).Gradient);

        // Bias is a parameter too, at 0: derivatives below include it.
        var adapted = w - alpha * 2 * a * (w * a - b);
        var adaptedBias = 0 - alpha * 2 * (w * a - b);
        var residual = adapted * c + adaptedBias - d;
        var dw = 2 * residual * (c * (1 - 2 * alpha * a * a) + (-2 * alpha * a));
        Assert.Equal(dw, gradient[0], 12);
    }

    [Fact]
    public void Mismatched_shapes_are_rejected_before_autograd()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 2);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        Assert.Throws<ArgumentException>(() => maml.MetaStep(theta.narrow(0, 0, 10), episode));
        Assert.Throws<ArgumentException>(() => maml.MetaStep(theta, episode, ones(3, ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => new Meta.Tasks.Episode(
            episode.SupportX, episode.SupportY, episode.QueryX.narrow(0, 0, 1), episode.QueryY.narrow(0, 0, 1)));
    }

    private static double PostAdaptationQueryLoss(Maml maml, Tensor theta, Meta.Tasks.Episode episode)
    {
        using var scope = NewDisposeScope();
        var fast = maml.Adapt(theta, episode.SupportX, episode.SupportY, maml.InnerSteps, differentiable: false);
        return TaskLoss.MeanSquaredError(maml.Network.Forward(fast, episode.QueryX), episode.QueryY).mean().ToDouble();
    }

    private static double MaxAbs(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
