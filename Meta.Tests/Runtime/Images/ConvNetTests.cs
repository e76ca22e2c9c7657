using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

[Collection(TorchCollection.Name)]
public sealed class ConvNetTests
{
    [Fact]
    public void Omniglot_and_MiniImageNet_conv4_have_the_standard_sizes()
    {
        var omniglot = ConvNet.ForOmniglot(5);
        // 4 × [3×3 conv (no bias: batch norm cancels it), γ, β] + 64 → 5 head.
        Assert.Equal(64 * 9 + 128 + 3 * (64 * 64 * 9 + 128) + 64 * 5 + 5, omniglot.Layout.Count);
        Assert.Equal(64, omniglot.Features);                       // 28 → 14 → 7 → 3 → 1
        Assert.Equal(28 * 28, omniglot.Inputs);
        Assert.Equal(5, omniglot.Outputs);
        var mini = ConvNet.ForMiniImageNet(5);
        Assert.Equal(32 * 5 * 5, mini.Features);                   // 84 → 42 → 21 → 10 → 5
        Assert.Equal(3 * 84 * 84, mini.Inputs);
        Assert.Equal(["conv1.weight", "norm1.weight", "norm1.bias"], omniglot.Layout.Slots.Take(3).Select(s => s.Name));
        Assert.Equal(["head.weight", "head.bias"], omniglot.Layout.Slots.TakeLast(2).Select(s => s.Name));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Batched_forward_over_tasks_equals_each_task_alone(bool batchNorm)
    {
        using var scope = NewDisposeScope();
        var network = new ConvNet(ways: 3, channels: 2, height: 8, width: 8, filters: 3, blocks: 2, batchNorm: batchNorm);
        using var g = new Generator(11);
        var weights = stack(Enumerable.Range(0, 4).Select(_ => network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        var x = rand([4, 6, 2, 8, 8], ScalarType.Float64, generator: g);

        var batched = network.Forward(weights, x);

        Assert.Equal([4L, 6, 3], batched.shape);
        for (var t = 0; t < 4; t++)
        {
            var single = network.Forward(weights.narrow(0, t, 1), x.narrow(0, t, 1));
            Assert.True(MaxAbs(batched.narrow(0, t, 1), single) <= 1e-10, $"task {t}: {MaxAbs(batched.narrow(0, t, 1), single):E2}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Forward_is_head_of_features_and_the_head_is_the_last_layer(bool batchNorm)
    {
        using var scope = NewDisposeScope();
        var network = new ConvNet(ways: 3, channels: 2, height: 8, width: 8, filters: 3, blocks: 2, batchNorm: batchNorm);
        using var g = new Generator(12);
        var weights = stack(Enumerable.Range(0, 3).Select(_ => network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        weights = weights + randn(weights.shape, ScalarType.Float64, generator: g) * 0.1;
        var x = rand([3, 5, 2, 8, 8], ScalarType.Float64, generator: g);

        var offset = network.HeadOffset;
        Assert.Equal(network.Layout.Slots.Single(s => s.Name == "head.weight").Offset, offset);
        Assert.Equal(network.Features * 3 + 3, network.Layout.Count - offset);
        var features = ((IHeadNetwork)network).Features(weights.narrow(1, 0, offset), x);
        Assert.Equal([3L, 5, network.Features], features.shape);
        var split = network.Head(weights.narrow(1, offset, network.Layout.Count - offset), features);
        Assert.True(MaxAbs(split, network.Forward(weights, x)) == 0, $"{MaxAbs(split, network.Forward(weights, x)):E2}");
        Assert.Throws<ArgumentException>(() => ((IHeadNetwork)network).Features(weights, x));
        Assert.Throws<ArgumentException>(() => network.Head(weights, features));
    }

    [Fact]
    public void Per_step_forward_with_step_s_uses_batch_norm_set_s_and_only_those_sets_skip_the_inner_loop()
    {
        using var scope = NewDisposeScope();
        using var stepwise = new ConvNet(ways: 3, channels: 1, height: 8, width: 8, filters: 3, blocks: 2, perStepBatchNorm: 3);
        var plain = new ConvNet(ways: 3, channels: 1, height: 8, width: 8, filters: 3, blocks: 2);
        Assert.Equal(3, stepwise.StepSets);
        Assert.Equal(0, plain.StepSets);
        Assert.Equal(["conv1.weight", "norm1.step0.weight", "norm1.step0.bias", "norm1.step1.weight"], stepwise.Layout.Slots.Take(4).Select(s => s.Name));
        Assert.Equal(plain.Layout.Count + 2 * 2 * 2 * 3, stepwise.Layout.Count);
        Assert.All(stepwise.Layout.Slots, s => Assert.Equal(!s.Name.Contains(".step", StringComparison.Ordinal), stepwise.AdaptsInInnerLoop(s)));
        Assert.All(plain.Layout.Slots, s => Assert.True(plain.AdaptsInInnerLoop(s)));

        using var g = new Generator(13);
        var weights = stack(Enumerable.Range(0, 2).Select(_ => stepwise.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        weights = weights + randn(weights.shape, ScalarType.Float64, generator: g) * 0.3;            // distinct sets
        var x = rand([2, 5, 1, 8, 8], ScalarType.Float64, generator: g);
        for (var step = 0; step < 5; step++)
        {
            var set = Math.Min(step, 2);
            // The plain network's weights: every slot from the stepwise layout, batch norm from set `set`.
            var pieces = plain.Layout.Slots.Select(slot =>
            {
                var name = slot.Name.StartsWith("norm", StringComparison.Ordinal) ? slot.Name.Insert(slot.Name.IndexOf('.', StringComparison.Ordinal), $".step{set}") : slot.Name;
                var source = stepwise.Layout.Slots.Single(s => s.Name == name);
                return weights.narrow(1, source.Offset, source.Size);
            });
            var expected = plain.Forward(cat(pieces.ToArray(), 1), x);
            Assert.True(MaxAbs(stepwise.Forward(weights, x, step, NormalizationStatistics.Batch), expected) <= 1e-14, $"step {step}");
        }
        Assert.True(MaxAbs(stepwise.Forward(weights, x), stepwise.Forward(weights, x, 2, NormalizationStatistics.Batch)) == 0, "plain forward uses the last set");
        Assert.True(MaxAbs(plain.Forward(weights.narrow(1, 0, plain.Layout.Count), x, 4, NormalizationStatistics.BatchAndTrack), plain.Forward(weights.narrow(1, 0, plain.Layout.Count), x)) == 0);
    }

    [Fact]
    public void Per_step_running_statistics_track_the_mean_over_tasks_of_each_tasks_statistics()
    {
        using var scope = NewDisposeScope();
        using var network = new ConvNet(ways: 2, channels: 1, height: 8, width: 8, filters: 3, blocks: 2, perStepBatchNorm: 2);
        using var g = new Generator(14);
        var weights = stack(Enumerable.Range(0, 4).Select(_ => network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        var x = rand([4, 5, 1, 8, 8], ScalarType.Float64, generator: g);
        Assert.Null(network.RunningMean(0));

        // One tracked pass at step 1: set 1's running mean = 0.9·0 + 0.1·(mean over tasks of each task's channel means
        // of the first convolution's output), its variance 0.9·1 + 0.1·(mean of the unbiased per-task variances).
        network.Forward(weights, x, 1, NormalizationStatistics.BatchAndTrack);
        var kernel = network.Layout.Slots[0];
        var pre = stack(Enumerable.Range(0, 4).Select(t =>
            nn.functional.conv2d(x[t], weights[t].narrow(0, kernel.Offset, kernel.Size).view(kernel.Shape), padding: [1, 1])).ToArray());  // [T, N, F, 8, 8]
        var mean = pre.mean([1, 3, 4]);
        var variance = (pre - mean.view(4, 1, 3, 1, 1)).square().sum([1, 3, 4]) / (5 * 64 - 1);
        Assert.True(MaxAbs(network.RunningMean(0)![1], 0.1 * mean.mean([0])) <= 1e-14);
        Assert.True(MaxAbs(network.RunningVariance(0)![1], 0.9 + 0.1 * variance.mean([0])) <= 1e-14);
        Assert.True(network.RunningMean(0)![0].abs().max().ToDouble() == 0, "set 0 is untouched");
        Assert.True(MaxAbs(network.RunningVariance(0)![0], ones(3, ScalarType.Float64)) == 0);
        Assert.True(network.RunningMean(1)![1].abs().max().ToDouble() > 0, "the second block tracks too");

        // Running statistics normalise every image on its own.
        var running = network.Forward(weights, x, 1, NormalizationStatistics.Running);
        var alone = network.Forward(weights, x.narrow(1, 2, 1), 1, NormalizationStatistics.Running);
        Assert.True(MaxAbs(running.narrow(1, 2, 1), alone) <= 1e-12);
        network.UseRunningStatistics = true;
        Assert.Equal(NormalizationStatistics.Running, network.InferenceStatistics);
        Assert.True(MaxAbs(network.Forward(weights, x), running) == 0);
        network.ResetRunningStatistics();
        Assert.Null(network.RunningVariance(1));

        var plain = new ConvNet(ways: 2, channels: 1, height: 8, width: 8, filters: 3, blocks: 2);
        Assert.Throws<InvalidOperationException>(() => plain.UseRunningStatistics = true);
        Assert.Throws<InvalidOperationException>(() => plain.Forward(weights.narrow(1, 0, plain.Layout.Count), x, 0, NormalizationStatistics.Running));
        Assert.ThrowsAny<ArgumentException>(() => new ConvNet(2, 1, 8, 8, filters: 3, blocks: 2, batchNorm: false, perStepBatchNorm: 2));
        Assert.ThrowsAny<ArgumentException>(() => new ConvNet(2, 1, 8, 8, filters: 3, blocks: 2, perStepBatchNorm: -1));
    }

    [Fact]
    public void Single_task_forward_is_conv_batchnorm_relu_maxpool_then_linear()
    {
        // A plain reference for one task: ungrouped convolution, batch norm written out (biased variance, ε = 1e-5).
        using var scope = NewDisposeScope();
        var network = new ConvNet(ways: 4, channels: 1, height: 8, width: 8, filters: 2, blocks: 2);
        using var g = new Generator(5);
        var theta = network.Initialize(WeightInit.Finn, g, ScalarType.Float64);
        theta = theta + randn(theta.shape, ScalarType.Float64, generator: g) * 0.1; // non-trivial γ and β
        var x = rand([1, 5, 1, 8, 8], ScalarType.Float64, generator: g);

        var h = x[0];
        var slots = network.Layout.Slots;
        Tensor Slot(int i) => theta.narrow(0, slots[i].Offset, slots[i].Size).view(slots[i].Shape);
        for (var b = 0; b < 2; b++)
        {
            h = nn.functional.conv2d(h, Slot(3 * b), padding: [1, 1]);
            var mean = h.mean([0, 2, 3], keepdim: true);
            var variance = (h - mean).square().mean([0, 2, 3], keepdim: true);
            h = (h - mean) / (variance + 1e-5).sqrt() * Slot(3 * b + 1).view(1, -1, 1, 1) + Slot(3 * b + 2).view(1, -1, 1, 1);
            h = nn.functional.max_pool2d(nn.functional.relu(h), 2);
        }
        var expected = h.flatten(1).matmul(Slot(6)) + Slot(7);

        var actual = network.Forward(theta.unsqueeze(0), x)[0];
        Assert.True(MaxAbs(actual, expected) <= 1e-10, $"{MaxAbs(actual, expected):E2}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batched_maml_meta_step_equals_the_mean_of_per_task_steps(bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyProblem(tasks: 5);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 2, 0.3, firstOrder);

        var batched = maml.MetaStep(theta, episode);
        var perTask = Enumerable.Range(0, 5).Select(t => maml.MetaStep(theta, episode.Slice(t, 1))).ToList();

        var expected = stack(perTask.Select(s => s.Gradient).ToArray()).mean([0]);
        Assert.True(MaxAbs(batched.Gradient, expected) <= 1e-10, $"{MaxAbs(batched.Gradient, expected):E2}");
        Assert.True(MaxAbs(batched.TaskLosses, cat(perTask.Select(s => s.TaskLosses).ToArray(), 0)) <= 1e-10);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Second_order_meta_gradient_through_batch_norm_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyProblem(tasks: 2);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, steps, 0.3, firstOrder: false);

        var analytic = Values(maml.MetaStep(theta, episode).Gradient);
        var numeric = FiniteDifferences(t =>
        {
            using var inner = NewDisposeScope();
            var fast = maml.Adapt(t, episode.SupportX, episode.SupportY, steps, differentiable: false);
            return TaskLoss.CrossEntropyLoss.PerTask(network.Forward(fast, episode.QueryX), episode.QueryY).mean().ToDouble();
        }, theta);

        Assert.True(RelativeError(analytic, numeric) <= 1e-6, $"relative error {RelativeError(analytic, numeric):E2}");
        Assert.True(analytic.Take((int)network.Layout.Slots[1].Offset).Any(v => Math.Abs(v) > 1e-8), "the first convolution should get a gradient");
    }

    [Fact]
    public void Wrong_image_shapes_are_rejected_before_autograd()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyProblem(tasks: 2);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 1, 0.3, firstOrder: false);
        var wrongSize = new Episode(episode.SupportX.narrow(3, 0, 4).narrow(4, 0, 4), episode.SupportY, episode.QueryX.narrow(3, 0, 4).narrow(4, 0, 4), episode.QueryY);
        var message = Assert.Throws<ArgumentException>(() => maml.MetaStep(theta, wrongSize)).Message;
        Assert.Contains("[2, images, 1, 8, 8]", message);
        Assert.Throws<ArgumentException>(() => network.Forward(theta.unsqueeze(0).expand(3, -1), episode.SupportX));
    }

    [Theory]
    [InlineData(WeightInit.PyTorch)]
    [InlineData(WeightInit.Finn)]
    public void Initialisation_sets_batch_norm_to_identity_and_bounds_weights(WeightInit scheme)
    {
        using var scope = NewDisposeScope();
        var network = ConvNet.ForOmniglot(5);
        using var g = new Generator(1);
        var theta = network.Initialize(scheme, g);
        foreach (var slot in network.Layout.Slots)
        {
            var values = theta.narrow(0, slot.Offset, slot.Size);
            if (slot.Name.StartsWith("norm", StringComparison.Ordinal))
            {
                Assert.Equal(slot.Name.EndsWith("weight", StringComparison.Ordinal) ? 1.0 : 0.0, values.mean().ToDouble());
                continue;
            }
            var (fanIn, fanOut) = slot.Name.StartsWith("conv", StringComparison.Ordinal) ? (slot.Shape[1] * 9.0, slot.Shape[0] * 9.0) : (64.0, 5.0);
            var bound = scheme == WeightInit.PyTorch ? 1 / Math.Sqrt(fanIn) : Math.Sqrt(6 / (fanIn + fanOut));
            var max = values.abs().max().ToDouble();
            if (scheme == WeightInit.Finn && slot.Name.EndsWith("bias", StringComparison.Ordinal)) Assert.Equal(0.0, max);
            else if (slot.Size >= 100) Assert.InRange(max, 0.95 * bound, bound);
            else Assert.InRange(max, 0, bound);
        }
    }

    /// <summary>2 conv blocks × 2 filters on 8 × 8 grey images, 3 ways, 2 shots and 2 queries per class, float64.</summary>
    internal static (ConvNet Network, Tensor Theta, Episode Episode) TinyProblem(int tasks, ulong seed = 21)
    {
        var network = new ConvNet(ways: 3, channels: 1, height: 8, width: 8, filters: 2, blocks: 2);
        using var g = new Generator(seed);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        theta = theta + randn(theta.shape, ScalarType.Float64, generator: g) * 0.05;
        var labels = arange(3, ScalarType.Int64).repeat_interleave(2).unsqueeze(0).expand(tasks, 6).contiguous();
        var episode = new Episode(
            rand([tasks, 6, 1, 8, 8], ScalarType.Float64, generator: g), labels,
            rand([tasks, 6, 1, 8, 8], ScalarType.Float64, generator: g), labels.clone());
        return (network, theta, episode);
    }

    private static double MaxAbs(Tensor a, Tensor b) => (a - b).abs().max().ToDouble();
}
