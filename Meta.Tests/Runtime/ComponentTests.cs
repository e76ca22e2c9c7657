using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime;

/// <summary>The built-in network and algorithm definitions: the shapes they build, their checks, and activations.</summary>
[Collection(TorchCollection.Name)]
public sealed class ComponentTests
{
    private static readonly TaskShape Scalar = new([1], 1, Classification: false);

    [Fact]
    public void Mlp_definition_builds_its_hidden_widths_and_activation()
    {
        var network = new MlpNetwork { Hidden = [8, 6, 4], Activation = Activation.Tanh }.Create(new NetworkContext(Scalar, 0));
        var mlp = Assert.IsType<Mlp>(network);
        Assert.Equal([1, 8, 6, 4, 1], mlp.Widths);
        Assert.Equal(Activation.Tanh, mlp.Activation);
    }

    [Fact]
    public void Mlp_definition_builds_per_step_batch_norm_when_the_algorithm_asks()
    {
        var network = new MlpNetwork { Hidden = [5] }.Create(new NetworkContext(Scalar, 3));
        var bn = Assert.IsType<BatchNormMlp>(network);
        Assert.Equal(3, bn.StepSets);
        Assert.Equal([1, 5, 1], bn.Widths);
        bn.Dispose();
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Sigmoid)]
    public void Mlp_forward_is_the_layers_with_the_activation_between_them(Activation activation)
    {
        using var scope = NewDisposeScope();
        var mlp = new Mlp(activation, 3, 4, 2);
        using var g = new Generator(3);
        var theta = mlp.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var x = randn([2, 5, 3], ScalarType.Float64, generator: g);
        var parts = theta.split([12, 4, 8, 2]);
        var hidden = x.matmul(parts[0].view(3, 4)) + parts[1];
        hidden = activation switch
        {
            Activation.Relu => hidden.relu(),
            Activation.Tanh => hidden.tanh(),
            Activation.Silu => hidden * hidden.sigmoid(),
            _ => hidden.sigmoid(),
        };
        var expected = hidden.matmul(parts[2].view(4, 2)) + parts[3];
        var actual = mlp.Forward(theta.unsqueeze(0).expand(2, -1), x);
        Assert.True(actual.allclose(expected, rtol: 1e-12, atol: 1e-12));
    }

    [Fact]
    public void Mlp_flattens_image_inputs()
    {
        using var scope = NewDisposeScope();
        var mlp = new MlpNetwork { Hidden = [6] }.Create(new NetworkContext(new TaskShape([1, 3, 3], 4, Classification: true), 0));
        using var g = new Generator(5);
        var theta = mlp.Initialize(WeightInit.PyTorch, g, ScalarType.Float64).unsqueeze(0).expand(2, -1);
        var images = randn([2, 7, 1, 3, 3], ScalarType.Float64, generator: g);
        Assert.True(mlp.Forward(theta, images).allclose(mlp.Forward(theta, images.flatten(2)), rtol: 0, atol: 0));
        Assert.Equal([2L, 7, 4], mlp.Forward(theta, images).shape);
    }

    [Fact]
    public void Second_order_maml_on_a_tanh_mlp_matches_finite_differences()
    {
        using var scope = NewDisposeScope();
        var (_, _, episode) = SmallProblem(tasks: 3);
        var network = new Mlp(Activation.Tanh, 1, 8, 8, 1);
        using var g = new Generator(11);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var maml = new MamlAlgorithm { InnerSteps = 2, InnerLr = 0.05 }.Create(new AlgorithmContext(network, TaskLoss.MeanSquaredErrorLoss, null!));
        var analytic = Values(maml.MetaStep(theta, episode).Gradient);
        var numeric = FiniteDifferences(t =>
        {
            using var inner = NewDisposeScope();
            var fast = maml.Adapt(t, episode.SupportX, episode.SupportY, 2);
            return TaskLoss.MeanSquaredError(network.Forward(fast, episode.QueryX), episode.QueryY).mean().ToDouble();
        }, theta);
        Assert.True(RelativeError(analytic, numeric) <= 1e-6, $"relative error {RelativeError(analytic, numeric):E2}");
    }

    [Fact]
    public void Conv_definition_refuses_tasks_that_are_not_images()
    {
        var error = Assert.Throws<OptionException>(() => new ConvNetwork().Create(new NetworkContext(Scalar, 0)));
        Assert.Contains("use the MLP", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conv_definition_takes_filters_blocks_and_ways_from_options_and_shape()
    {
        var net = Assert.IsType<ConvNet>(new ConvNetwork { Filters = 5, Blocks = 2 }.Create(new NetworkContext(new TaskShape([3, 8, 8], 4, true), 0)));
        Assert.Equal((5, 2, 4, 3), (net.Filters, net.Blocks, net.Ways, net.Channels));
        net.Dispose();
    }

    [Fact]
    public void Anil_refuses_a_network_without_a_head()
    {
        using var network = new BatchNormMlp(2, 1, 4, 1);
        var error = Assert.Throws<OptionException>(() => new AnilAlgorithm().Create(new AlgorithmContext(network, TaskLoss.MeanSquaredErrorLoss, null!)));
        Assert.Contains("IHeadNetwork", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validated_definitions_check_their_options_together()
    {
        Assert.Throws<OptionException>(() => new MamlPlusPlusAlgorithm { InnerSteps = 1, MultiStepLoss = true }.Validate());
        new MamlPlusPlusAlgorithm { InnerSteps = 1, MultiStepLoss = false }.Validate();
        Assert.Throws<OptionException>(() => new ReptileAlgorithm { AdamBeta1 = 1 }.Validate());
        Assert.Throws<OptionException>(() => new ReptileAlgorithm { InnerBatch = 0 }.Validate());
        Assert.Throws<OptionException>(() => new Meta.Tasks.Images.FashionMnistTasks { Ways = 6 }.Validate());
    }

    [Fact]
    public void Sinusoid_family_draws_the_same_episode_as_the_underlying_family()
    {
        using var scope = NewDisposeScope();
        var family = new Sinusoids { Shots = 4, QueryShots = 6 };
        family.Prepare(new FamilyContext(1));
        using var g1 = new Generator(9);
        using var g2 = new Generator(9);
        var a = family.Draw(3, g1);
        var raw = new SinusoidFamily(SinusoidRanges.Default);
        var b = raw.Episode(raw.Sample(3, g2), 4, 6, g2);
        Assert.True(a.SupportX.allclose(b.SupportX, rtol: 0, atol: 0));
        Assert.True(a.QueryY.allclose(b.QueryY, rtol: 0, atol: 0));
        Assert.Equal([3L, 4, 1], a.SupportX.shape);
    }
}
