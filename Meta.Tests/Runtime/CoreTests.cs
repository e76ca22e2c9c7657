using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime;

[Collection(TorchCollection.Name)]
public sealed class CoreTests
{
    [Fact]
    public void TorchSharp_native_library_loads()
    {
        // Fails loudly if the build did not patch libLibTorchSharp.so on a system whose libstdc++ lacks GLIBCXX_3.4.32.
        TorchRuntime.EnsureLoaded();
        using var t = ones(2, 2) * 3;
        Assert.Equal(12f, t.sum().ToSingle());
    }

    [Fact]
    public void AddBatchMatMul_computes_bias_plus_input_times_weights()
    {
        // Pins the semantics of the baddbmm wrapper: TorchSharp's binding rotates the arguments.
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var x = randn([2, 3, 4], ScalarType.Float64, generator: g);
        var w = randn([2, 4, 5], ScalarType.Float64, generator: g);
        var b = randn([2, 1, 5], ScalarType.Float64, generator: g);
        var expected = bmm(x, w) + b;
        Assert.True(allclose(BatchedOps.AddBatchMatMul(b, x, w), expected, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Forward_with_T_tasks_equals_T_single_task_forwards()
    {
        using var scope = NewDisposeScope();
        var network = Mlp.ForSinusoid();
        using var g = new Generator(11);
        var weights = stack(Enumerable.Range(0, 4).Select(_ => network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64)).ToArray());
        var x = randn([4, 6, 1], ScalarType.Float64, generator: g);
        var batched = network.Forward(weights, x);
        for (var t = 0; t < 4; t++)
        {
            var single = network.Forward(weights.narrow(0, t, 1), x.narrow(0, t, 1));
            Assert.True(allclose(batched.narrow(0, t, 1), single, rtol: 0, atol: 1e-12));
        }
    }

    [Fact]
    public void Mlp_layout_matches_the_1_40_40_1_network()
    {
        var network = Mlp.ForSinusoid();
        Assert.Equal(1 * 40 + 40 + 40 * 40 + 40 + 40 * 1 + 1, network.Layout.Count);
        Assert.Equal(["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight", "layer3.bias"],
            network.Layout.Slots.Select(s => s.Name));
    }

    [Fact]
    public void Finn_initialisation_is_a_truncated_normal_with_zero_biases()
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(1, 200, 200, 1);
        using var g = new Generator(5);
        var theta = network.Initialize(WeightInit.Finn, g, ScalarType.Float64);
        var big = network.Layout.Slots[2];
        var w = theta.narrow(0, big.Offset, big.Size);
        Assert.True(w.abs().max().ToDouble() <= 0.02 + 1e-12, "truncated at two standard deviations");
        Assert.InRange(w.std().ToDouble(), 0.0088 - 0.0003, 0.0088 + 0.0003); // std of N(0, 0.01²) truncated at ±2σ ≈ 0.0088
        foreach (var bias in network.Layout.Slots.Where(s => s.Shape.Length == 1))
            Assert.Equal(0.0, theta.narrow(0, bias.Offset, bias.Size).abs().sum().ToDouble());
    }

    [Fact]
    public void PyTorch_initialisation_is_uniform_within_one_over_root_fan_in()
    {
        using var scope = NewDisposeScope();
        var network = new Mlp(1, 40, 40, 1);
        using var g = new Generator(5);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var hidden = network.Layout.Slots[2];
        var w = theta.narrow(0, hidden.Offset, hidden.Size);
        Assert.True(w.abs().max().ToDouble() <= 1 / Math.Sqrt(40));
        Assert.True(w.abs().max().ToDouble() > 0.9 / Math.Sqrt(40));
    }

    [Fact]
    public void Adam_matches_TorchSharp_Adam_over_several_steps()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(9);
        var start = randn([10], ScalarType.Float64, generator: g);
        var ours = start.clone();
        using var adam = new Adam(ours, 0.01);
        var reference = new TorchSharp.Modules.Parameter(start.clone());
        var torchAdam = optim.Adam([reference], 0.01);
        for (var i = 0; i < 5; i++)
        {
            var grad = randn([10], ScalarType.Float64, generator: g);
            adam.Step(grad);
            torchAdam.zero_grad();
            (reference * grad).sum().backward();
            torchAdam.step();
        }
        Assert.True(allclose(ours, reference.detach(), rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Adam_refuses_a_gradient_of_another_shape_before_stepping()
    {
        using var scope = NewDisposeScope();
        var theta = zeros(6, ScalarType.Float64);
        using var adam = new Adam(theta, 0.01);
        foreach (var wrong in new[] { zeros(5, ScalarType.Float64), zeros([2, 3], ScalarType.Float64) })
        {
            var error = Assert.Throws<ArgumentException>(() => adam.Step(wrong));
            Assert.Contains("differs from the parameters' [6]", error.Message);
        }
        Assert.Equal(0, adam.Steps);
        Assert.True(theta.eq(0).all().ToBoolean());
    }

    // A loop reads its meta-loss every iteration: straight from memory where the tensor allows it, the same value as ToDouble.
    [Fact]
    public void A_scalar_is_read_as_ToDouble_reads_it()
    {
        using var scope = NewDisposeScope();
        var values = tensor(new[] { 0.1, -2.5, 3.75 });
        Assert.Equal(values[1].ToDouble(), values[1].Scalar());                 // a view at an offset into its storage
        Assert.Equal((double)0.1f, tensor(0.1f).Scalar());
        Assert.Equal(double.NaN, tensor(float.NaN).Scalar());
        Assert.Equal(7.0, tensor(7L).Scalar());                                 // not floating point: through ToDouble
        Assert.Equal(values[2].ToDouble(), values.narrow(0, 2, 1).Scalar());   // one element, one dimension
    }

    [Fact]
    public void An_episode_tensor_reshaped_in_place_is_refused_before_a_step()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var network = new Mlp(1, 8, 1);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        var episode = family.Episode(family.Sample(4, g), 5, 5, g);
        episode.QueryX.unsqueeze_(0);                                           // [1, 4, 5, 1]: no longer the sizes it was made with
        foreach (var maml in new[] { new Maml(network, 1, 0.05, firstOrder: false), new Maml(new Mlp(Activation.Tanh, 1, 8, 1), 1, 0.05, firstOrder: false) })
        {
            var error = Assert.Throws<ArgumentException>(() => maml.MetaStep(theta, episode));
            Assert.Contains("reshaped in place", error.Message);
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-6)]
    [InlineData(ScalarType.Float64, 1e-13)]
    public void Adam_in_place_update_matches_its_tensor_code(ScalarType dtype, double tolerance)
    {
        // A dense CPU vector takes the managed loop (InPlaceUpdate); a strided view of the same values the tensor code.
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        var start = randn([1761], dtype, generator: g);
        var dense = start.clone();
        var strided = stack([start.clone(), zeros_like(start)], 1).select(1, 0);
        Assert.False(strided.is_contiguous());
        using var fast = new Adam(dense, 0.01);
        using var reference = new Adam(strided, 0.01);
        fast.ScaleLearningRate(100, 500, 0.25);
        reference.ScaleLearningRate(100, 500, 0.25);
        for (var i = 0; i < 20; i++)
        {
            var grad = randn([1761], dtype, generator: g);
            fast.Step(grad);
            reference.Step(grad);
        }
        Assert.True(allclose(dense, strided, rtol: 0, atol: tolerance), $"max difference {(dense - strided).abs().max().ToDouble():E2}");
        var view = stack([dense, zeros_like(dense)], 1).select(1, 0);    // the same values, measured by libtorch
        Assert.Equal(GradientClip.Norm(view), GradientClip.Norm(dense), 1e-10);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Sinusoid_episodes_are_bit_identical_to_the_tensor_expressions(ScalarType dtype)
    {
        // The family computes its draws in managed loops around libtorch's rand and sin; they must equal the plain tensor
        // expressions exactly, so that runs keep their tasks.
        using var scope = NewDisposeScope();
        var family = new SinusoidFamily(SinusoidRanges.Default, dtype);
        using var drawn = new Generator(3);
        using var replay = new Generator(3);
        var tasks = family.Sample(25, drawn);
        var episode = family.Episode(tasks, 10, 7, drawn);
        var r = SinusoidRanges.Default;
        Tensor Uniform(long[] shape, double low, double high) => rand(shape, dtype, generator: replay) * (high - low) + low;
        var amplitude = Uniform([25], r.AmplitudeMin, r.AmplitudeMax);
        var phase = Uniform([25], r.PhaseMin, r.PhaseMax);
        var xs = Uniform([25, 10, 1], r.InputMin, r.InputMax);
        var xq = Uniform([25, 7, 1], r.InputMin, r.InputMax);
        static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
        Assert.True(Same(tasks.Amplitude, amplitude) && Same(tasks.Phase, phase), "task parameters");
        Assert.True(Same(episode.SupportX, xs) && Same(episode.QueryX, xq), "inputs");
        Assert.True(Same(episode.SupportY, amplitude.view(-1, 1, 1) * sin(xs - phase.view(-1, 1, 1))), "support targets");
        Assert.True(Same(episode.QueryY, amplitude.view(-1, 1, 1) * sin(xq - phase.view(-1, 1, 1))), "query targets");
        var strided = family.TasksFor(stack([amplitude, phase], 1));     // column views: the tensor expression itself
        Assert.True(Same(family.Target(strided, xq), episode.QueryY), "targets of strided task parameters");
    }

    [Fact]
    public void Sinusoid_episodes_follow_the_family_definition()
    {
        using var scope = NewDisposeScope();
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        using var g = new Generator(2);
        var tasks = family.Sample(1000, g);
        Assert.InRange(tasks.Amplitude.min().ToDouble(), 0.1, 5);
        Assert.InRange(tasks.Amplitude.max().ToDouble(), 0.1, 5);
        Assert.InRange(tasks.Phase.max().ToDouble(), 0, Math.PI);
        var episode = family.Episode(tasks, 10, 15, g);
        Assert.Equal([1000L, 10, 1], episode.SupportX.shape);
        Assert.Equal([1000L, 15, 1], episode.QueryY.shape);
        Assert.InRange(episode.SupportX.min().ToDouble(), -5, 5);
        var expected = tasks.Amplitude.view(-1, 1, 1) * sin(episode.QueryX - tasks.Phase.view(-1, 1, 1));   // the MAML paper code's sign
        Assert.True(allclose(episode.QueryY, expected));
        Assert.False(allclose(episode.SupportX.narrow(1, 0, 10), episode.QueryX.narrow(1, 0, 10)), "support and query are independent draws");
    }

    [Fact]
    public void Run_seeds_give_identical_streams_for_identical_seeds_and_separate_streams_within_a_run()
    {
        using var scope = NewDisposeScope();
        using var a = new RunSeeds(42);
        using var b = new RunSeeds(42);
        Assert.True(allclose(rand([5], generator: a.Tasks), rand([5], generator: b.Tasks), rtol: 0, atol: 0));
        using var evaluation = a.NewEvaluation();
        Assert.False(allclose(rand([5], generator: a.Weights), rand([5], generator: evaluation)));
        using var again = a.NewEvaluation();
        using var first = b.NewEvaluation();
        Assert.True(allclose(rand([5], generator: again), rand([5], generator: first), rtol: 0, atol: 0));
    }

    [Fact]
    public void A_short_maml_run_lowers_the_meta_loss_and_leaks_no_tensors()
    {
        var network = Mlp.ForSinusoid();
        using var seeds = new RunSeeds(3);
        var family = new SinusoidFamily(SinusoidRanges.Default);
        using var theta = network.Initialize(WeightInit.Finn, seeds.Weights);
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        using var adam = new Adam(theta, 0.003);
        var losses = new List<double>();
        long liveAfterWarmup = 0;
        for (var i = 0; i < 1200; i++)
        {
            if (i == 100) liveAfterWarmup = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            using var scope = NewDisposeScope();
            var tasks = family.Sample(25, seeds.Tasks);
            var step = maml.MetaStep(theta, family.Episode(tasks, 10, 10, seeds.Tasks));
            adam.Step(step.Gradient);
            losses.Add(step.MetaLoss.ToDouble());
        }
        var first = losses.Take(100).Average();
        var last = losses.Skip(1100).Average();
        Assert.True(last < 0.7 * first, $"meta-loss should fall: first 100 mean {first:0.000}, last 100 mean {last:0.000}");
        Assert.Equal(liveAfterWarmup, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
