using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime;

/// <summary>
/// The MLP's analytic derivatives (Mlp.Analytic.cs) and MAML's autograd-free meta-step against the autograd path, in
/// float64 to 1e-12. The reference is the same MLP behind a wrapper that hides <see cref="IAnalyticNetwork"/>, which is
/// also what a user's network without the capability looks like to MAML.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class AnalyticMlpTests
{
    private const double Tolerance = 1e-12;

    [Theory]
    [InlineData(Activation.Relu, 1, false)]
    [InlineData(Activation.Relu, 3, false)]
    [InlineData(Activation.Relu, 5, false)]
    [InlineData(Activation.Relu, 1, true)]
    [InlineData(Activation.Relu, 3, true)]
    [InlineData(Activation.Relu, 5, true)]
    [InlineData(Activation.Tanh, 1, false)]
    [InlineData(Activation.Tanh, 3, false)]
    [InlineData(Activation.Tanh, 5, false)]
    [InlineData(Activation.Tanh, 1, true)]
    [InlineData(Activation.Tanh, 3, true)]
    [InlineData(Activation.Tanh, 5, true)]
    [InlineData(Activation.Sigmoid, 3, false)]
    [InlineData(Activation.Sigmoid, 3, true)]
    [InlineData(Activation.Silu, 3, false)]
    [InlineData(Activation.Silu, 3, true)]
    public void Mse_meta_step_matches_autograd(Activation activation, int steps, bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, 1, 8, 8, 1);
        var (theta, episode) = RegressionProblem(network, tasks: 6);
        AssertSameMetaStep(network, TaskLoss.MeanSquaredErrorLoss, theta, episode, null, steps, firstOrder);
    }

    [Theory]
    [InlineData(new[] { 1, 40, 40, 1 }, Activation.Relu, 5, false)]
    [InlineData(new[] { 2, 5, 3 }, Activation.Tanh, 3, false)]
    [InlineData(new[] { 3, 7, 6, 4, 2 }, Activation.Tanh, 3, false)]
    [InlineData(new[] { 3, 7, 6, 4, 2 }, Activation.Relu, 3, true)]
    [InlineData(new[] { 4, 2 }, Activation.Tanh, 2, false)]
    public void Mse_meta_step_with_task_weights_matches_autograd_for_several_widths(int[] widths, Activation activation, int steps, bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, widths);
        var (theta, episode) = RegressionProblem(network, tasks: 5);
        using var g = new Generator(3);
        var weights = rand([5], ScalarType.Float64, generator: g) * 2;
        AssertSameMetaStep(network, TaskLoss.MeanSquaredErrorLoss, theta, episode, weights, steps, firstOrder);
    }

    [Theory]
    [InlineData(Activation.Relu, 1, false)]
    [InlineData(Activation.Relu, 3, true)]
    [InlineData(Activation.Tanh, 3, false)]
    [InlineData(Activation.Tanh, 5, false)]
    [InlineData(Activation.Silu, 2, false)]
    public void Cross_entropy_meta_step_matches_autograd(Activation activation, int steps, bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, 4, 9, 7, 3);
        using var g = new Generator(11);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var episode = new Episode(
            randn([5, 6, 4], ScalarType.Float64, generator: g), randint(3, [5, 6], ScalarType.Int64, generator: g),
            randn([5, 8, 4], ScalarType.Float64, generator: g), randint(3, [5, 8], ScalarType.Int64, generator: g));
        var weights = rand([5], ScalarType.Float64, generator: g) + 0.5;
        AssertSameMetaStep(network, TaskLoss.CrossEntropyLoss, theta, episode, weights, steps, firstOrder);
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Silu)]
    public void Gradient_and_hessian_vector_product_match_autograd(Activation activation)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, 2, 6, 5, 3);
        var (theta, episode) = RegressionProblem(network, tasks: 4);
        using var g = new Generator(5);
        var weights = theta.unsqueeze(0).expand(4, -1) + randn([4, theta.shape[0]], ScalarType.Float64, generator: g) * 0.3;
        var direction = randn([4, theta.shape[0]], ScalarType.Float64, generator: g);
        var taskScale = rand([4], ScalarType.Float64, generator: g);

        var leaf = weights.detach().requires_grad_(true);
        var losses = TaskLoss.MeanSquaredErrorLoss.PerTask(network.Forward(leaf, episode.SupportX), episode.SupportY);
        var gradient = torch.autograd.grad([losses.sum()], [leaf], retain_graph: true, create_graph: true)[0];
        var hvp = torch.autograd.grad([(gradient * direction).sum()], [leaf], retain_graph: true)[0];
        var scaled = torch.autograd.grad([(losses * taskScale).sum() * 0.25], [leaf])[0];

        var pass = network.AnalyticPass(weights, episode.SupportX, episode.SupportY, TaskLoss.MeanSquaredErrorLoss);
        AssertClose(losses.detach(), pass.TaskLosses(), "task losses");
        AssertClose(gradient.detach(), pass.Gradient(), "gradient");
        AssertClose(hvp, pass.HessianVectorProduct(direction), "Hessian-vector product");
        AssertClose(scaled, pass.Gradient(0.25, taskScale), "scaled gradient");

        var columnMajor = weights.t().contiguous().t();   // rows not dense: the split-and-view fallback
        Assert.NotEqual(1, columnMajor.stride(1));
        AssertClose(hvp, network.AnalyticPass(columnMajor, episode.SupportX, episode.SupportY, TaskLoss.MeanSquaredErrorLoss).HessianVectorProduct(direction.t().contiguous().t()), "Hessian-vector product, strided weights");
    }

    [Theory]
    [InlineData(Activation.Relu, 0)]
    [InlineData(Activation.Relu, 5)]
    [InlineData(Activation.Tanh, 3)]
    public void Test_time_adaptation_matches_autograd(Activation activation, int steps)
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, 1, 8, 8, 1);
        var (theta, episode) = RegressionProblem(network, tasks: 6);
        var fast = new Maml(network, 1, 0.3, firstOrder: false).Adapt(theta, episode.SupportX, episode.SupportY, steps);
        var reference = new Maml(new AutogradOnly(network), 1, 0.3, firstOrder: false).Adapt(theta, episode.SupportX, episode.SupportY, steps);
        Assert.False(fast.requires_grad);
        AssertClose(reference, fast, "adapted weights");
    }

    [Fact]
    public void Unsupported_losses_are_refused_and_wrapped_networks_use_autograd()
    {
        var network = new Mlp(1, 4, 1);
        Assert.True(network.SupportsAnalytic(TaskLoss.MeanSquaredErrorLoss));
        Assert.True(network.SupportsAnalytic(TaskLoss.CrossEntropyLoss));
        Assert.False(network.SupportsAnalytic(new HuberLoss()));
        Assert.IsNotAssignableFrom<IAnalyticNetwork>(new AutogradOnly(network));
    }

    private static (Tensor Theta, Episode Episode) RegressionProblem(Mlp network, int tasks, ulong seed = 7)
    {
        using var g = new Generator(seed);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var episode = new Episode(
            randn([tasks, 5, network.Inputs], ScalarType.Float64, generator: g), randn([tasks, 5, network.Outputs], ScalarType.Float64, generator: g),
            randn([tasks, 7, network.Inputs], ScalarType.Float64, generator: g), randn([tasks, 7, network.Outputs], ScalarType.Float64, generator: g));
        return (theta, episode);
    }

    // Both analytic routes against autograd: the MLP's managed whole-step kernel (Mlp.Kernel.cs, what Maml takes for the
    // MLP on the CPU) and the composition of analytic passes (what it takes for a network without the kernel).
    private static void AssertSameMetaStep(Mlp network, ITaskLoss loss, Tensor theta, Episode episode, Tensor? weights, int steps, bool firstOrder)
    {
        var reference = new Maml(new AutogradOnly(network), loss, steps, 0.3, firstOrder).MetaStep(theta, episode, weights);
        Assert.True(Values(reference.Gradient).Any(x => Math.Abs(x) > 1e-3), "the reference gradient should not be trivially zero");
        Assert.NotNull(network.MamlMetaStep(theta, episode, loss, steps, 0.3, firstOrder, weights));
        foreach (var (route, maml) in new[] { ("kernel", new Maml(network, loss, steps, 0.3, firstOrder)), ("passes", new Maml(new PassesOnly(network), loss, steps, 0.3, firstOrder)) })
        {
            var fast = maml.MetaStep(theta, episode, weights);
            Assert.Equal(ScalarType.Float64, fast.Gradient.dtype);
            Assert.Equal(theta.shape, fast.Gradient.shape);
            Assert.Equal(reference.MetaLoss.shape, fast.MetaLoss.shape);
            AssertClose(reference.Gradient, fast.Gradient, $"{route}: meta-gradient");
            AssertClose(reference.TaskLosses, fast.TaskLosses, $"{route}: task losses");
            AssertClose(reference.MetaLoss, fast.MetaLoss, $"{route}: meta-loss");
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(5, false)]
    [InlineData(1, true)]
    [InlineData(5, true)]
    public void Float32_kernel_matches_the_analytic_passes_to_float32_rounding(int steps, bool firstOrder)
    {
        using var scope = NewDisposeScope();
        var network = Mlp.ForSinusoid();
        var (theta64, episode64) = RegressionProblem(network, tasks: 25);
        var theta = theta64.to_type(ScalarType.Float32);
        // Strided (non-contiguous) episode tensors, as slices of one sample are: the kernel reads them densely.
        var x = cat([episode64.SupportX, episode64.QueryX[.., ..5]], 2).to_type(ScalarType.Float32);
        var y = cat([episode64.SupportY, episode64.QueryY[.., ..5]], 2).to_type(ScalarType.Float32);
        var episode = new Episode(x[.., .., ..1], y[.., .., ..1], episode64.QueryX.to_type(ScalarType.Float32), episode64.QueryY.to_type(ScalarType.Float32));
        Assert.False(episode.SupportX.is_contiguous());
        var kernel = new Maml(network, steps, 0.01, firstOrder).MetaStep(theta, episode);
        var passes = new Maml(new PassesOnly(network), steps, 0.01, firstOrder).MetaStep(theta, episode);
        Assert.Equal(ScalarType.Float32, kernel.Gradient.dtype);
        var (k, p) = (Values(kernel.Gradient), Values(passes.Gradient));
        var scale = Math.Max(1.0, p.Max(Math.Abs));
        Assert.True(k.Zip(p, (a, b) => Math.Abs(a - b)).Max() <= 1e-5 * scale, "float32 meta-gradients differ by more than rounding");
        Assert.Equal(passes.MetaLoss.ToDouble(), kernel.MetaLoss.ToDouble(), 1e-5);
    }

    [Fact]
    public void Kernel_declines_tensors_it_does_not_handle_and_rejects_bad_labels()
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(Activation.Relu, 4, 5, 3);
        using var g = new Generator(2);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var labels = randint(3, [2, 6], ScalarType.Int64, generator: g);
        var episode = new Episode(randn([2, 6, 4], ScalarType.Float64, generator: g), labels, randn([2, 6, 4], ScalarType.Float64, generator: g), labels);
        Assert.Null(network.MamlMetaStep(theta.to_type(ScalarType.Float16), episode, TaskLoss.CrossEntropyLoss, 1, 0.1, false, null));
        Assert.Null(network.MamlMetaStep(theta, episode, TaskLoss.MeanSquaredErrorLoss, 1, 0.1, false, null));   // labels are no regression targets
        var bad = new Episode(episode.SupportX, labels.add(3), episode.QueryX, labels);
        var error = Assert.Throws<ArgumentException>(() => network.MamlMetaStep(theta, bad, TaskLoss.CrossEntropyLoss, 1, 0.1, false, null));
        Assert.Contains("class label", error.Message);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var (e, a) = (Values(expected.reshape(-1)), Values(actual.reshape(-1)));
        var scale = Math.Max(1.0, e.Max(Math.Abs));
        var error = e.Zip(a, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(error <= Tolerance * scale, $"{what}: max difference {error:E2} (scale {scale:E2})");
    }

    [Theory]
    [InlineData(Activation.Relu, ProximalSolver.GradientDescent)]
    [InlineData(Activation.Relu, ProximalSolver.NewtonCg)]
    [InlineData(Activation.Tanh, ProximalSolver.GradientDescent)]
    [InlineData(Activation.Tanh, ProximalSolver.NewtonCg)]
    public void Imaml_meta_step_and_adaptation_match_autograd(Activation activation, ProximalSolver solver)
    {
        // iMAML takes the MLP's hand-derived gradients and Hessian-vector products for its inner loop (both solvers)
        // and its CG; the same MLP behind AutogradOnly runs the double-backward path. λ = 1 keeps some systems
        // indefinite, so truncation and the line search are exercised on both paths alike.
        using var scope = NewDisposeScope();
        var network = new Mlp(activation, 1, 8, 8, 1);
        var (theta, episode) = RegressionProblem(network, tasks: 6);
        using var g = new Generator(4);
        var weights = rand([6], ScalarType.Float64, generator: g) * 2;
        var options = new ImplicitMamlOptions { InnerSteps = 4, InnerLr = 0.05, Lambda = 1.0, CgSteps = 6, Solver = solver, SolverCgSteps = 4 };
        var analytic = new ImplicitMaml(network, options);
        var autograd = new ImplicitMaml(new AutogradOnly(network), options);
        var a = analytic.MetaStep(theta, episode, weights);
        var b = autograd.MetaStep(theta, episode, weights);
        AssertClose(b.Gradient, a.Gradient, "meta-gradient");
        AssertClose(b.TaskLosses, a.TaskLosses, "task losses");
        foreach (var key in b.Diagnostics!.Keys)
            Assert.True(Math.Abs(b.Diagnostics[key] - a.Diagnostics![key]) <= 1e-9 * Math.Max(1, Math.Abs(b.Diagnostics[key])), key);
        AssertClose(autograd.Adapt(theta, episode.SupportX, episode.SupportY, 3), analytic.Adapt(theta, episode.SupportX, episode.SupportY, 3), "adaptation");
    }

    /// <summary>The MLP without its analytic capability: MAML must take the autograd path.</summary>
    private sealed class AutogradOnly(IFunctionalNetwork inner) : IFunctionalNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
    }

    /// <summary>The MLP's analytic passes without its whole-step kernel: MAML composes the passes.</summary>
    private sealed class PassesOnly(Mlp inner) : IAnalyticNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
        public bool SupportsAnalytic(ITaskLoss loss) => inner.SupportsAnalytic(loss);
        public IAnalyticPass AnalyticPass(Tensor weights, Tensor input, Tensor target, ITaskLoss loss) => inner.AnalyticPass(weights, input, target, loss);
    }

    private sealed class HuberLoss : ITaskLoss
    {
        public string Name => "huber";
        public Tensor PerTask(Tensor prediction, Tensor target) => nn.functional.huber_loss(prediction, target, reduction: nn.Reduction.None).mean([1, 2]);
        public Tensor Summed(Tensor prediction, Tensor target) => PerTask(prediction, target).sum();
        public void Check(long[] predictionShape, Tensor target) { }
    }
}
