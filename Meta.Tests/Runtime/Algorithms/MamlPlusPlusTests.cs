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
public sealed class MamlPlusPlusTests
{
    public MamlPlusPlusTests() => TorchRuntime.UseThreads(1);

    [Fact]
    public void Step_importance_starts_uniform_anneals_to_the_floor_and_always_sums_to_one()
    {
        Assert.All(MamlPlusPlus.StepImportance(5, 0, 10), v => Assert.Equal(0.2, v, 15));
        var epoch3 = MamlPlusPlus.StepImportance(5, 3, 10);                      // non-final: 1/5 − 3/(5·10) = 0.14
        Assert.All(epoch3[..^1], v => Assert.Equal(0.14, v, 15));
        Assert.Equal(1 - 4 * 0.14, epoch3[^1], 15);
        var floored = MamlPlusPlus.StepImportance(5, 99, 100);                   // 0.2 − 0.198 < 0.03/5
        Assert.All(floored[..^1], v => Assert.Equal(0.006, v, 15));
        Assert.Equal(1 - 4 * 0.006, floored[^1], 15);
        for (var e = 0; e < 40; e++)
        {
            var v = MamlPlusPlus.StepImportance(4, e, 30);
            Assert.Equal(1.0, v.Sum(), 14);
            // The final weight equals the reference formula min(1/N + e(N−1)/(N·E), 1 − (N−1)·0.03/N).
            Assert.Equal(Math.Min(0.25 + e * 3 * (1.0 / 4 / 30), 1 - 3 * 0.03 / 4), v[^1], 14);
        }
    }

    [Fact]
    public void Step_weights_follow_the_announced_iteration_and_switch_to_the_final_step_after_the_annealing_epochs()
    {
        var network = new Mlp(1, 4, 1);
        var mpp = new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 3, MultiStepLossEpochs = 4, IterationsPerEpoch = 10, FirstOrderEpochs = 2 });
        IMetaAlgorithm algorithm = mpp;
        algorithm.BeginIteration(0);
        Assert.Equal(MamlPlusPlus.StepImportance(3, 0, 4), mpp.StepWeights());
        Assert.False(mpp.SecondOrder);
        algorithm.BeginIteration(25);
        Assert.Equal(2, mpp.Epoch);
        Assert.Equal(MamlPlusPlus.StepImportance(3, 2, 4), mpp.StepWeights());
        Assert.True(mpp.SecondOrder);
        algorithm.BeginIteration(40);
        Assert.Equal([0.0, 0.0, 1.0], mpp.StepWeights());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_every_switch_off_it_is_maml_and_derivative_order_annealing_starts_first_order(bool late)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var mpp = new MamlPlusPlus(network, new MamlPlusPlusOptions
        {
            InnerSteps = 2, InnerLr = 0.05, MultiStepLoss = false, LearnedLearningRates = false, FirstOrderEpochs = 2, IterationsPerEpoch = 10,
        });
        mpp.BeginIteration(late ? 20 : 19);
        var ours = mpp.MetaStep(mpp.InitialMetaParameters(theta), episode);
        var maml = new Maml(network, 2, 0.05, firstOrder: !late).MetaStep(theta, episode);
        AssertClose(Values(ours.Gradient), Values(maml.Gradient), 1e-12);
    }

    [Fact]
    public void Meta_gradient_with_lslr_and_a_non_uniform_step_weighting_matches_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var options = new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.05, MultiStepLossEpochs = 10, IterationsPerEpoch = 100 };
        var mpp = new MamlPlusPlus(network, options);
        mpp.BeginIteration(450);                                                   // epoch 4: v = (0.2, 0.2, 0.6)
        var stepWeights = mpp.StepWeights();
        Assert.Equal(0.2, stepWeights[0], 14);
        var meta = PerturbedRates(mpp, theta);

        var analytic = Values(mpp.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mpp, m, episode, stepWeights), meta);
        var p = (int)theta.shape[0];
        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..], numeric[p..], 1e-6, "learning-rate part");
    }

    [Fact]
    public void Meta_gradient_with_sigmoid_lslr_matches_central_finite_differences_and_the_rates_stay_in_range()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var options = new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.05, MultiStepLossEpochs = 10, IterationsPerEpoch = 100, RateMapping = LearnedRateMapping.Sigmoid(0.25) };
        var mpp = new MamlPlusPlus(network, options);
        mpp.BeginIteration(450);
        var stepWeights = mpp.StepWeights();
        var meta = mpp.InitialMetaParameters(theta);
        AssertClose(Values(mpp.LearningRates(meta).flatten()), Values(full([3L * mpp.Layers], 0.05, ScalarType.Float64)), 1e-14);
        using var g = new Generator(29);
        var p = (int)theta.shape[0];
        meta.narrow(0, p, 3L * mpp.Layers).add_(2 * rand([3L * mpp.Layers], ScalarType.Float64, generator: g) - 1);

        var step = mpp.MetaStep(meta, episode);
        var analytic = Values(step.Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mpp, m, episode, stepWeights), meta);
        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..], numeric[p..], 1e-6, "logit part");
        Assert.All(Values(mpp.LearningRates(meta.fill_(-50))), r => Assert.InRange(r, 0.0, 0.25));
        Assert.All(Values(mpp.LearningRates(meta.fill_(50))), r => Assert.InRange(r, 0.0, 0.25));
        Assert.Equal(0.0, step.Diagnostics!["rates.negative"]);
    }

    [Fact]
    public void Meta_gradient_with_per_step_batch_norm_matches_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (_, _, episode) = SmallProblem(tasks: 3);
        using var network = new BatchNormMlp(3, 1, 6, 6, 1);
        using var g = new Generator(31);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        // Distinct per-step BN weights, so that using the wrong set would show.
        foreach (var slot in network.Layout.Slots.Where(s => !network.AdaptsInInnerLoop(s)))
            theta.narrow(0, slot.Offset, slot.Size).add_(0.3 * randn([slot.Size], ScalarType.Float64, generator: g));
        var mpp = new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.05, MultiStepLossEpochs = 10, IterationsPerEpoch = 100 });
        mpp.BeginIteration(250);
        var stepWeights = mpp.StepWeights();
        var meta = PerturbedRates(mpp, theta);

        var analytic = Values(mpp.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mpp, m, episode, stepWeights), meta);
        AssertClose(analytic, numeric, 1e-6, "with batch norm");
        // BN weights are meta-learned: they receive a gradient, although the inner loop leaves them alone.
        var bn = network.Layout.Slots.First(s => !network.AdaptsInInnerLoop(s));
        Assert.Contains(analytic.Skip((int)bn.Offset).Take((int)bn.Size), v => Math.Abs(v) > 1e-6);
        var fast = mpp.Adapt(meta, episode.SupportX, episode.SupportY, 3);
        foreach (var slot in network.Layout.Slots.Where(s => !network.AdaptsInInnerLoop(s)))
            Assert.True(MaxAbs(Values(fast.narrow(1, slot.Offset, slot.Size)), Values(theta.narrow(0, slot.Offset, slot.Size).unsqueeze(0).expand(3, -1))) == 0);
    }

    [Fact]
    public void Meta_gradient_through_a_per_step_batch_norm_conv_net_matches_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 2, perStepBatchNorm: 3);         // distinct noise on every set
        using var owned = network;
        var mpp = new MamlPlusPlus(network, TaskLoss.CrossEntropyLoss,
            new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.3, MultiStepLossEpochs = 10, IterationsPerEpoch = 100 });
        mpp.BeginIteration(250);
        var meta = PerturbedRates(mpp, theta);

        var analytic = Values(mpp.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mpp, m, episode, mpp.StepWeights()), meta);
        AssertClose(analytic, numeric, 1e-6, "per-step batch-norm conv net");
        foreach (var slot in network.Layout.Slots.Where(s => !network.AdaptsInInnerLoop(s)))
            Assert.Contains(analytic.Skip((int)slot.Offset).Take((int)slot.Size), v => Math.Abs(v) > 1e-8);
        var fast = mpp.Adapt(meta, episode.SupportX, episode.SupportY, 4);
        foreach (var slot in network.Layout.Slots.Where(s => !network.AdaptsInInnerLoop(s)))
            Assert.True(MaxAbs(Values(fast.narrow(1, slot.Offset, slot.Size)), Values(theta.narrow(0, slot.Offset, slot.Size).unsqueeze(0).expand(2, -1))) == 0);
    }

    [Fact]
    public void Per_step_batch_norm_conv_net_batched_meta_step_equals_the_per_task_computation()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 4, perStepBatchNorm: 2);
        using var owned = network;
        var mpp = new MamlPlusPlus(network, TaskLoss.CrossEntropyLoss, new MamlPlusPlusOptions { InnerSteps = 2, InnerLr = 0.3 });
        var meta = PerturbedRates(mpp, theta);
        var batched = mpp.MetaStep(meta, episode);
        var single = Enumerable.Range(0, 4).Select(t => mpp.MetaStep(meta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10);
        Assert.True(MaxAbs(Values(batched.TaskLosses), Values(cat(single.Select(s => s.TaskLosses).ToArray(), 0))) <= 1e-10);
    }

    [Fact]
    public void A_conv_net_without_per_step_batch_norm_is_a_plain_network_to_maml_plus_plus()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 3);
        var mpp = new MamlPlusPlus(network, TaskLoss.CrossEntropyLoss, new MamlPlusPlusOptions
        {
            InnerSteps = 3, InnerLr = 0.3, MultiStepLoss = false, LearnedLearningRates = false,
        });
        var ours = mpp.MetaStep(mpp.InitialMetaParameters(theta), episode);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 3, 0.3, firstOrder: false).MetaStep(theta, episode);
        AssertClose(Values(ours.Gradient), Values(maml.Gradient), 1e-12);
    }

    [Fact]
    public void Batch_norm_statistics_are_per_task_and_running_statistics_track_the_task_mean()
    {
        using var scope = NewDisposeScope();
        var (_, _, episode) = SmallProblem(tasks: 4);
        using var network = new BatchNormMlp(2, 1, 5, 1);
        using var g = new Generator(2);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var weights = theta.unsqueeze(0).expand(4, -1);

        var batched = network.Forward(weights, episode.QueryX, 1, NormalizationStatistics.Batch);
        for (var t = 0; t < 4; t++)
        {
            var single = network.Forward(weights.narrow(0, t, 1), episode.QueryX.narrow(0, t, 1), 1, NormalizationStatistics.Batch);
            Assert.True(MaxAbs(Values(batched.narrow(0, t, 1)), Values(single)) <= 1e-14, $"task {t} is normalised by its own statistics");
        }

        // One tracked pass at step 0: running mean = 0.9·0 + 0.1·mean over tasks of each task's mean pre-activation.
        network.Forward(weights, episode.SupportX, 0, NormalizationStatistics.BatchAndTrack);
        var w = theta.narrow(0, 0, 5).view(1, 5);
        var b = theta.narrow(0, 5, 5);
        var pre = episode.SupportX.matmul(w) + b;                                      // [T, K, 5]
        Assert.True(MaxAbs(Values(network.RunningMean(0)![0]), Values(0.1 * pre.mean([1]).mean([0]))) <= 1e-14);
        var unbiased = pre.var([1], unbiased: true).mean([0]);
        Assert.True(MaxAbs(Values(network.RunningVariance(0)![0]), Values(0.9 + 0.1 * unbiased)) <= 1e-14);
        Assert.True(MaxAbs(Values(network.RunningMean(0)![1]), new double[5]) == 0, "step 1's statistics are untouched");

        // Running statistics normalise each point on its own: a task's output no longer depends on its other points.
        var running = network.Forward(weights, episode.QueryX, 0, NormalizationStatistics.Running);
        var onePoint = network.Forward(weights, episode.QueryX.narrow(1, 0, 1), 0, NormalizationStatistics.Running);
        Assert.True(MaxAbs(Values(running.narrow(1, 0, 1)), Values(onePoint)) <= 1e-14);
        network.UseRunningStatistics = true;
        Assert.Equal(NormalizationStatistics.Running, network.InferenceStatistics);
    }

    [Fact]
    public void Meta_gradient_clamping_clamps_each_element()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var options = new MamlPlusPlusOptions { InnerSteps = 2, InnerLr = 0.05 };
        var free = new MamlPlusPlus(network, options).MetaStep(new MamlPlusPlus(network, options).InitialMetaParameters(theta), episode).Gradient;
        var c = free.abs().max().ToDouble() / 4;
        var clamped = new MamlPlusPlus(network, options with { GradientClamp = c });
        var gradient = clamped.MetaStep(clamped.InitialMetaParameters(theta), episode).Gradient;
        Assert.True(MaxAbs(Values(gradient), Values(free.clamp(-c, c))) == 0);
        Assert.True(gradient.abs().max().ToDouble() <= c);
    }

    [Fact]
    public void Bad_options_are_rejected_with_a_clear_message()
    {
        var network = new Mlp(1, 4, 1);
        var oneStep = Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 1, MultiStepLoss = true }));
        Assert.Contains("multi-step loss needs at least 2 inner steps", oneStep.Message, StringComparison.Ordinal);
        _ = new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 1, MultiStepLoss = false });
        var clamp = Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(network, new MamlPlusPlusOptions { GradientClamp = -1 }));
        Assert.Contains("clamp", clamp.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(network, new MamlPlusPlusOptions { IterationsPerEpoch = 0 }));
        Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(network, new MamlPlusPlusOptions { FirstOrderEpochs = -1 }));
        Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerLr = 0 }));
        using var bn = new BatchNormMlp(2, 1, 4, 1);
        var sets = Assert.ThrowsAny<ArgumentException>(() => new MamlPlusPlus(bn, new MamlPlusPlusOptions { InnerSteps = 3 }));
        Assert.Contains("per-step sets", sets.Message, StringComparison.Ordinal);
        using var scope = NewDisposeScope();
        var (small, theta, episode) = SmallProblem(tasks: 2);
        Assert.Throws<ArgumentException>(() => new MamlPlusPlus(small, new MamlPlusPlusOptions()).MetaStep(theta, episode));   // no rates
    }

    [Fact]
    public void Meta_loss_falls_on_sinusoids_with_lslr_multi_step_loss_order_annealing_clamping_and_a_cosine_meta_rate()
    {
        // Per-step batch norm is left out: with one input feature, per-task normalisation of the first layer leaves the
        // network only each task's standardised x, and the loss cannot fall (docs/algorithms.md, MAML++).
        var options = new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.01, MultiStepLossEpochs = 3, IterationsPerEpoch = 50, FirstOrderEpochs = 1, GradientClamp = 10 };
        var cosine = new CosineAnnealing(0.003, 0.0003, 300);
        var losses = TrainOnSinusoids(n => new MamlPlusPlus(n, options), meta => new ScheduledAdam(meta, cosine), iterations: 300);
        AssertFalls(losses, 0.7);
    }

    /// <summary>θ followed by rates 0.05 ± 0.02 (distinct per step and layer).</summary>
    private static Tensor PerturbedRates(MamlPlusPlus mpp, Tensor theta)
    {
        using var g = new Generator(23);
        var meta = mpp.InitialMetaParameters(theta);
        var rates = mpp.LearningRates(meta);
        rates.add_(0.02 * (2 * rand(rates.shape, ScalarType.Float64, generator: g) - 1));
        return meta;
    }

    /// <summary>
    /// Per task: step s takes the gradient of the support loss (forward with BN set s), moves every adapted parameter by
    /// its layer's rate for step s, and adds v_s × the query loss (BN set s); the mean over tasks.
    /// </summary>
    private static double ReferenceObjective(IFunctionalNetwork network, MamlPlusPlus mpp, Tensor meta, Episode episode, double[] stepWeights)
    {
        using var scope = NewDisposeScope();
        var stepwise = network as IStepwiseNetwork;
        Tensor Forward(Tensor w, Tensor x, int s) => stepwise?.Forward(w, x, s, NormalizationStatistics.Batch) ?? network.Forward(w, x);
        var theta = mpp.Weights(meta);
        var rates = mpp.LearningRates(meta);
        var adaptedLayers = network.Layout.Slots.Where(s => stepwise?.AdaptsInInnerLoop(s) ?? true).Select(s => s.Layer).Distinct().Order().ToList();
        var total = 0.0;
        for (var t = 0; t < episode.Tasks; t++)
        {
            var task = episode.Slice(t, 1);
            var phi = theta.unsqueeze(0);
            for (var s = 0; s < stepWeights.Length; s++)
            {
                var point = phi.detach().requires_grad_(true);
                var gradient = torch.autograd.grad([mpp.Loss.PerTask(Forward(point, task.SupportX, s), task.SupportY).sum()], [point])[0];
                var step = zeros_like(theta);
                foreach (var slot in network.Layout.Slots.Where(x => stepwise?.AdaptsInInnerLoop(x) ?? true))
                    step.narrow(0, slot.Offset, slot.Size).copy_(gradient[0].narrow(0, slot.Offset, slot.Size) * rates[s, adaptedLayers.IndexOf(slot.Layer)]);
                phi = phi - step;
                total += stepWeights[s] * mpp.Loss.PerTask(Forward(phi, task.QueryX, s), task.QueryY).ToDouble();
            }
        }
        return total / episode.Tasks;
    }

    /// <summary>Adam whose learning rate follows a schedule, advanced at every step (what a trainer would do).</summary>
    private sealed class ScheduledAdam(Tensor parameters, ILearningRateSchedule schedule) : IMetaOptimizer
    {
        private readonly Adam _adam = new(parameters, schedule.At(0));

        public double LearningRate { get => _adam.LearningRate; set => _adam.LearningRate = value; }

        public long Steps => _adam.Steps;

        public void Step(Tensor gradient)
        {
            schedule.Apply(_adam, _adam.Steps);
            _adam.Step(gradient);
        }

        public void ScaleLearningRate(long offset, long count, double factor) => _adam.ScaleLearningRate(offset, count, factor);

        public void Save(string prefix, Meta.Checkpoints.CheckpointWriter writer) => _adam.Save(prefix, writer);

        public void Load(string prefix, Meta.Checkpoints.CheckpointReader reader) => _adam.Load(prefix, reader);

        public void Dispose() => _adam.Dispose();
    }
}
