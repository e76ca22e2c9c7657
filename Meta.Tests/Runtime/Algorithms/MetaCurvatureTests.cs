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
public sealed class MetaCurvatureTests
{
    public MetaCurvatureTests() => TorchRuntime.UseThreads(1);

    [Fact]
    public void Meta_parameters_are_theta_then_identity_matrices_per_layer()
    {
        using var scope = NewDisposeScope();
        var (network, theta, _) = SmallProblem(tasks: 1);                       // 1-8-8-1
        var mc = new MetaCurvature(network, 1, 0.1);
        var meta = mc.InitialMetaParameters(theta);
        Assert.Equal(theta.shape[0] + (1 + 64) + (64 + 64) + (64 + 1), meta.shape[0]);
        var matrices = mc.Matrices(meta);
        Assert.Equal([1L, 8, 8, 8, 8, 1], matrices.Select(m => m.shape[0]));
        Assert.All(matrices, m => Assert.True(MaxAbs(Values(m), Values(eye(m.shape[0], dtype: ScalarType.Float64))) == 0));
    }

    [Fact]
    public void With_identity_curvature_the_theta_gradient_is_maml()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var mc = new MetaCurvature(network, 2, 0.05);
        var ours = mc.MetaStep(mc.InitialMetaParameters(theta), episode);
        var maml = new Maml(network, 2, 0.05, firstOrder: false).MetaStep(theta, episode);
        AssertClose(Values(mc.Weights(ours.Gradient)), Values(maml.Gradient), 1e-12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Meta_gradient_wrt_theta_and_the_matrices_matches_central_finite_differences(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var mc = new MetaCurvature(network, steps, 0.05);
        var meta = PerturbedCurvature(mc, theta);

        var analytic = Values(mc.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, steps), meta);
        var p = (int)theta.shape[0];
        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..], numeric[p..], 1e-6, "matrix part");
    }

    [Fact]
    public void Batched_meta_step_equals_the_per_task_computation()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 5);
        var mc = new MetaCurvature(network, 2, 0.05);
        var meta = PerturbedCurvature(mc, theta);
        var batched = mc.MetaStep(meta, episode);
        var single = Enumerable.Range(0, 5).Select(t => mc.MetaStep(meta, episode.Slice(t, 1))).ToList();
        Assert.True(MaxAbs(Values(batched.Gradient), Values(stack(single.Select(s => s.Gradient)).mean([0]))) <= 1e-10);
    }

    [Fact]
    public void Unsupported_layouts_and_bad_arguments_are_rejected()
    {
        var network = new Mlp(1, 4, 1);
        Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(network, 0, 0.1));
        Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(network, 1, 0));
        using var perStep = new BatchNormMlp(2, 1, 4, 1);
        var e = Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(perStep, 1, 0.1));
        Assert.Contains("per-step batch norm", e.Message, StringComparison.Ordinal);
        using var perStepConv = new ConvNet(2, 1, 8, 8, filters: 2, blocks: 2, perStepBatchNorm: 2);
        Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(perStepConv, 1, 0.1));
        var odd = Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(new LayoutOnly(ParameterLayout.Of(("w", [3, 2], 0), ("scale", [3], 0))), 1, 0.1));
        Assert.Contains("cannot transform 'scale' [3]", odd.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(new LayoutOnly(ParameterLayout.Of(("w", [2, 2, 2], 0))), 1, 0.1));
        using var scope = NewDisposeScope();
        var (small, theta, episode) = SmallProblem(tasks: 2);
        Assert.Throws<ArgumentException>(() => new MetaCurvature(small, 1, 0.1).MetaStep(theta, episode));
    }

    [Fact]
    public void Meta_loss_falls_on_sinusoids()
    {
        var losses = TrainOnSinusoids(n => new MetaCurvature(n, 1, 0.01), meta => new Adam(meta, 0.003), iterations: 300);
        AssertFalls(losses, 0.7);
    }

    [Fact]
    public void Conv_meta_parameters_are_theta_then_identity_matrices_in_each_weights_mode_order()
    {
        using var scope = NewDisposeScope();
        var (network, theta, _) = TinyConvProblem(tasks: 1);                   // conv 4×1×3×3, γ, β, conv 4×4×3×3, γ, β, head 16 → 2
        var mc = new MetaCurvature(network, TaskLoss.CrossEntropyLoss, 1, 0.1);
        var matrices = mc.Matrices(mc.InitialMetaParameters(theta));
        Assert.Equal([4L, 1, 9, 4, 4, 9, 16, 2], matrices.Select(m => m.shape[0]));
        Assert.Equal(16 + 1 + 81 + 16 + 16 + 81 + 256 + 4, mc.MatrixCount);
        Assert.All(matrices, m => Assert.True(MaxAbs(Values(m), Values(eye(m.shape[0], dtype: ScalarType.Float64))) == 0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void With_identity_curvature_a_conv_net_gets_exactly_mamls_update(bool batchNorm)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 3, batchNorm: batchNorm);
        var mc = new MetaCurvature(network, TaskLoss.CrossEntropyLoss, 2, 0.3);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 2, 0.3, firstOrder: false);
        var meta = mc.InitialMetaParameters(theta);
        var ours = mc.Adapt(meta, episode.SupportX, episode.SupportY, 3);
        var theirs = maml.Adapt(theta, episode.SupportX, episode.SupportY, 3, differentiable: false);
        Assert.True(MaxAbs(Values(ours), Values(theirs)) == 0, $"{MaxAbs(Values(ours), Values(theirs)):E2}");
        AssertClose(Values(mc.Weights(mc.MetaStep(meta, episode).Gradient)), Values(maml.MetaStep(theta, episode).Gradient), 1e-12);
    }

    [Theory]
    [InlineData(1, true, false)]
    [InlineData(2, true, true)]
    [InlineData(2, false, false)]
    public void Conv_meta_gradient_wrt_theta_the_matrices_and_rates_matches_central_finite_differences(int steps, bool batchNorm, bool lslr)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = TinyConvProblem(tasks: 2, batchNorm: batchNorm);
        var mc = new MetaCurvature(network, TaskLoss.CrossEntropyLoss, steps, 0.3, learnedLearningRates: lslr);
        var meta = PerturbedCurvature(mc, theta);

        var analytic = Values(mc.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, steps), meta);
        AssertParts(mc, theta, analytic, numeric);
    }

    [Fact]
    public void Lslr_meta_gradient_wrt_theta_the_matrices_and_rates_matches_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var mc = new MetaCurvature(network, 3, 0.05, learnedLearningRates: true);
        Assert.Equal([3L, 3], mc.LearningRates(mc.InitialMetaParameters(theta)).shape);
        var meta = PerturbedCurvature(mc, theta);

        var analytic = Values(mc.MetaStep(meta, episode).Gradient);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, 3), meta);
        AssertParts(mc, theta, analytic, numeric);
    }

    [Fact]
    public void Sigmoid_lslr_meta_gradient_wrt_theta_the_matrices_and_the_stored_logits_matches_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var mc = new MetaCurvature(network, 3, 0.05, learnedLearningRates: true, rates: LearnedRateMapping.Sigmoid(0.3));
        var meta = PerturbedCurvature(mc, theta);
        using var g = new Generator(31);
        var count = 3L * mc.Layers;
        meta.narrow(0, meta.shape[0] - count, count).add_(2 * rand([count], ScalarType.Float64, generator: g) - 1);

        var step = mc.MetaStep(meta, episode);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, 3), meta);
        AssertParts(mc, theta, Values(step.Gradient), numeric);
        Assert.All(Values(mc.LearningRates(meta).flatten()), r => Assert.InRange(r, 0.0, 0.3));
        Assert.True(step.Diagnostics!["curvature.sigma.min"] > 0);
        Assert.True(step.Diagnostics["curvature.sigma.max"] >= step.Diagnostics["curvature.sigma.min"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Positive_semidefinite_curvature_meta_gradient_wrt_theta_and_the_factors_matches_central_finite_differences(bool lslr)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var mc = new MetaCurvature(network, 2, 0.05, learnedLearningRates: lslr,
            rates: lslr ? LearnedRateMapping.Sigmoid(0.3) : null, curvature: CurvatureParameterization.PositiveSemidefinite);
        var initial = mc.InitialMetaParameters(theta);
        foreach (var m in mc.Matrices(initial)) AssertClose(Values(m.flatten()), Values(eye(m.shape[0], dtype: ScalarType.Float64).flatten()), 1e-15);
        var meta = PerturbedCurvature(mc, theta);
        var p = theta.shape[0];
        var factors = meta.narrow(0, p, mc.MatrixCount).split([.. mc.Matrices(meta).Select(m => m.shape[0] * m.shape[0])]);
        foreach (var (m, l) in mc.Matrices(meta).Zip(factors))
        {
            var square = l.view(m.shape[0], m.shape[0]);
            AssertClose(Values(m.flatten()), Values(square.matmul(square.t()).flatten()), 1e-14);
            Assert.True(linalg.eigvalsh(m).min().item<double>() > -1e-12, "M = L·Lᵀ is positive semidefinite");
        }

        var step = mc.MetaStep(meta, episode);
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, 2), meta);
        AssertParts(mc, theta, Values(step.Gradient), numeric);
        Assert.True(step.Diagnostics!["curvature.symmetric.min"] > -1e-12);
    }

    [Fact]
    public void Learned_rates_start_at_the_inner_rate_and_change_nothing_else_until_they_move()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        var plain = new MetaCurvature(network, 2, 0.05);
        var lslr = new MetaCurvature(network, 2, 0.05, learnedLearningRates: true);
        Assert.Equal("metacurvature", plain.Name);
        Assert.Equal("metacurvature-lslr", lslr.Name);
        Assert.Equal("fo-metacurvature-lslr", new MetaCurvature(network, 2, 0.05, firstOrder: true, learnedLearningRates: true).Name);
        Assert.Throws<InvalidOperationException>(() => plain.LearningRates(plain.InitialMetaParameters(theta)));
        Assert.Throws<ArgumentException>(() => plain.MetaStep(lslr.InitialMetaParameters(theta), episode));

        var metaPlain = PerturbedCurvature(plain, theta);
        var metaLslr = cat([metaPlain, full([2 * 3], 0.05, ScalarType.Float64)], 0);
        Assert.True(MaxAbs(Values(lslr.InitialMetaParameters(theta)), Values(cat([plain.InitialMetaParameters(theta), full([6], 0.05, ScalarType.Float64)], 0))) == 0);
        var ours = lslr.MetaStep(metaLslr, episode).Gradient;
        var before = plain.MetaStep(metaPlain, episode).Gradient;
        AssertClose(Values(ours.narrow(0, 0, before.shape[0])), Values(before), 1e-12);
        Assert.True(MaxAbs(Values(lslr.Adapt(metaLslr, episode.SupportX, episode.SupportY, 4)), Values(plain.Adapt(metaPlain, episode.SupportX, episode.SupportY, 4))) <= 1e-14);
    }

    [Fact]
    public void Adapt_beyond_the_trained_steps_reuses_the_last_steps_rates()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 2);
        var mc = new MetaCurvature(network, 2, 0.05, learnedLearningRates: true);
        var meta = PerturbedCurvature(mc, theta);
        var rates = mc.LearningRates(meta);
        var matrices = mc.Matrices(meta);
        var fast = theta.unsqueeze(0).expand(2, -1);
        for (var s = 0; s < 4; s++)
        {
            var point = fast.detach().requires_grad_(true);
            var gradient = torch.autograd.grad([TaskLoss.MeanSquaredErrorLoss.Summed(network.Forward(point, episode.SupportX), episode.SupportY)], [point])[0];
            var perParameter = cat(network.Layout.Slots.Select(slot => rates[Math.Min(s, 1), slot.Layer].expand(slot.Size)).ToArray(), 0);
            fast = fast - perParameter * mc.TransformGradient(gradient, matrices);
        }
        Assert.True(MaxAbs(Values(mc.Adapt(meta, episode.SupportX, episode.SupportY, 4)), Values(fast)) <= 1e-14);
    }

    private static void AssertParts(MetaCurvature mc, Tensor theta, double[] analytic, double[] numeric)
    {
        var p = (int)theta.shape[0];
        var m = p + (int)mc.MatrixCount;
        AssertClose(analytic[..p], numeric[..p], 1e-6, "θ part");
        AssertClose(analytic[p..m], numeric[p..m], 1e-6, "matrix part");
        if (mc.LearnedLearningRates) AssertClose(analytic[m..], numeric[m..], 1e-6, "learning-rate part");
        Assert.Equal(m + (mc.LearnedLearningRates ? mc.InnerSteps * mc.Layers : 0), analytic.Length);
    }

    /// <summary>θ followed by I + 0.1·noise for every matrix (and rates α ± 20 % with LSLR).</summary>
    private static Tensor PerturbedCurvature(MetaCurvature mc, Tensor theta)
    {
        using var g = new Generator(21);
        var meta = mc.InitialMetaParameters(theta);
        var p = theta.shape[0];
        meta.narrow(0, p, mc.MatrixCount).add_(0.1 * randn([mc.MatrixCount], ScalarType.Float64, generator: g));
        if (mc.LearnedLearningRates && mc.Rates.Parameterization == RateParameterization.Direct)
        {
            var rates = mc.LearningRates(meta);
            rates.mul_(1 + 0.2 * (2 * rand(rates.shape, ScalarType.Float64, generator: g) - 1));
        }
        return meta;
    }

    /// <summary>
    /// Per task: S steps, each slot's gradient multiplied out explicitly by its layer's matrices (linear M_in·G·M_out,
    /// convolution by <c>einsum</c> over [out, in, taps], 1-D g·M_out) and scaled by its layer's rate for that step;
    /// then the mean query loss.
    /// </summary>
    private static double ReferenceObjective(IFunctionalNetwork network, MetaCurvature mc, Tensor meta, Episode episode, int steps)
    {
        using var scope = NewDisposeScope();
        var theta = mc.Weights(meta);
        var matrices = mc.Matrices(meta);
        var slots = network.Layout.Slots;
        // Matrices of each layer, in the order the weights come in the layout.
        var ofLayer = new Dictionary<int, Tensor[]>();
        var next = 0;
        foreach (var slot in slots.Where(s => s.Shape.Length > 1))
        {
            var count = slot.Shape.Length == 2 ? 2 : 3;
            ofLayer[slot.Layer] = [.. matrices.Skip(next).Take(count)];
            next += count;
        }
        var layers = slots.Select(s => s.Layer).Distinct().Order().ToList();
        double Rate(int s, int layer) => mc.LearnedLearningRates ? mc.LearningRates(meta)[s, layers.IndexOf(layer)].ToDouble() : mc.InnerLr;
        var total = 0.0;
        for (var t = 0; t < episode.Tasks; t++)
        {
            var task = episode.Slice(t, 1);
            var phi = theta.clone();
            for (var s = 0; s < steps; s++)
            {
                var point = phi.detach().unsqueeze(0).requires_grad_(true);
                var gradient = torch.autograd.grad([mc.Loss.PerTask(network.Forward(point, task.SupportX), task.SupportY).sum()], [point])[0][0];
                var step = new List<Tensor>();
                foreach (var slot in slots)
                {
                    var g = gradient.narrow(0, slot.Offset, slot.Size);
                    var m = ofLayer[slot.Layer];
                    var transformed = slot.Shape.Length switch
                    {
                        1 => mv(m[m.Length == 2 ? 1 : 0].t(), g),                 // g · M_out (linear: M_in, M_out; conv: M_out, M_in, M_f)
                        2 => mm(mm(m[0], g.view(slot.Shape[0], slot.Shape[1])), m[1]).flatten(),
                        _ => einsum("po,cd,kl,pdl->ock", m[0], m[1], m[2], g.view(slot.Shape[0], slot.Shape[1], -1)).flatten(),
                    };
                    step.Add(Rate(s, slot.Layer) * transformed);
                }
                phi = phi - cat(step, 0);
            }
            total += mc.Loss.PerTask(network.Forward(phi.unsqueeze(0), task.QueryX), task.QueryY).ToDouble();
        }
        return total / episode.Tasks;
    }

    /// <summary>A network that only has a layout (for constructor checks).</summary>
    private sealed class LayoutOnly(ParameterLayout layout) : IFunctionalNetwork
    {
        public ParameterLayout Layout => layout;

        public int Inputs => 1;

        public int Outputs => 1;

        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => zeros(Layout.Count, dtype);

        public Tensor Forward(Tensor weights, Tensor input) => throw new NotSupportedException();
    }
}
