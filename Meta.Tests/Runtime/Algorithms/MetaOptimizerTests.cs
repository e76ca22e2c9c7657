using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Algorithms;

[Collection(TorchCollection.Name)]
public sealed class MetaOptimizerTests
{
    [Fact]
    public void Sgd_matches_TorchSharp_SGD()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        var start = randn([7], ScalarType.Float64, generator: g);
        var ours = start.clone();
        IMetaOptimizer sgd = new Sgd(ours, 0.1);
        var reference = new TorchSharp.Modules.Parameter(start.clone());
        var torchSgd = optim.SGD([reference], 0.1);
        for (var i = 0; i < 3; i++)
        {
            var grad = randn([7], ScalarType.Float64, generator: g);
            sgd.Step(grad);
            torchSgd.zero_grad();
            (reference * grad).sum().backward();
            torchSgd.step();
        }
        Assert.Equal(3, sgd.Steps);
        Assert.True(allclose(ours, reference.detach(), rtol: 0, atol: 1e-14));
        Assert.Throws<ArgumentException>(() => sgd.Step(zeros(6, ScalarType.Float64)));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void A_scaled_range_steps_as_if_it_had_its_own_rate_and_the_rest_is_unchanged(string kind)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(8);
        var start = randn([6], ScalarType.Float64, generator: g);
        var grads = Enumerable.Range(0, 4).Select(_ => randn([6], ScalarType.Float64, generator: g)).ToList();
        Tensor Run(double lr, Action<IMetaOptimizer>? configure)
        {
            var p = start.clone();
            IMetaOptimizer o = kind == "adam" ? new Adam(p, lr) : new Sgd(p, lr);
            configure?.Invoke(o);
            foreach (var grad in grads) o.Step(grad);
            return p;
        }
        var scaled = Run(0.1, o => o.ScaleLearningRate(2, 3, 0.25));
        var full = Run(0.1, null);
        var slow = Run(0.025, null);
        Assert.True(allclose(scaled.narrow(0, 0, 2), full.narrow(0, 0, 2), rtol: 0, atol: 1e-15));
        Assert.True(allclose(scaled.narrow(0, 5, 1), full.narrow(0, 5, 1), rtol: 0, atol: 1e-15));
        Assert.True(allclose(scaled.narrow(0, 2, 3), slow.narrow(0, 2, 3), rtol: 0, atol: 1e-14));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(start.clone(), 0.1).ScaleLearningRate(4, 3, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(start.clone(), 0.1).ScaleLearningRate(0, 1, 0));
    }

    [Fact]
    public void Learned_rate_ranges_point_at_the_learned_rates()
    {
        var (network, theta, _) = SmallProblem(tasks: 1);
        var p = network.Layout.Count;
        Assert.Equal([(p, p)], new Meta.Algorithms.MetaSgd(network, 1, 0.01).LearnedRateRanges);
        var plus = new Meta.Algorithms.MamlPlusPlus(network, new Meta.Algorithms.MamlPlusPlusOptions { InnerSteps = 2 });
        Assert.Equal([(p, 2L * 3)], plus.LearnedRateRanges);
        Assert.Empty(new Meta.Algorithms.MamlPlusPlus(network, new Meta.Algorithms.MamlPlusPlusOptions { InnerSteps = 2, LearnedLearningRates = false }).LearnedRateRanges);
        var curvature = new Meta.Algorithms.MetaCurvature(network, 2, 0.01, learnedLearningRates: true);
        var meta = curvature.InitialMetaParameters(theta);
        var (offset, count) = Assert.Single(curvature.LearnedRateRanges);
        Assert.Equal(meta.shape[0], offset + count);
        Assert.True(meta.narrow(0, offset, count).eq(0.01).all().ToBoolean());
        Assert.Empty(((Meta.Algorithms.IMetaAlgorithm)new Meta.Algorithms.Maml(network, 1, 0.01, firstOrder: false)).LearnedRateRanges);
    }

    [Fact]
    public void Linear_decay_goes_from_the_initial_rate_to_zero()
    {
        var schedule = new LinearDecay(0.8, 100);
        Assert.Equal(0.8, schedule.At(0), 15);
        Assert.Equal(0.4, schedule.At(50), 15);
        Assert.Equal(0.0, schedule.At(100), 15);
        Assert.Equal(0.0, schedule.At(1000), 15);
        using var p = zeros(2);
        using var sgd = new Sgd(p, 1);
        schedule.Apply(sgd, 75);
        Assert.Equal(0.2, sgd.LearningRate, 15);
        Assert.ThrowsAny<ArgumentException>(() => new LinearDecay(-1, 10));
        Assert.ThrowsAny<ArgumentException>(() => new LinearDecay(1, 0));
    }

    [Fact]
    public void Cosine_annealing_follows_half_a_cosine_from_max_to_min()
    {
        var schedule = new CosineAnnealing(1e-3, 1e-5, 200);
        Assert.Equal(1e-3, schedule.At(0), 15);
        Assert.Equal((1e-3 + 1e-5) / 2, schedule.At(100), 15);
        Assert.Equal(1e-5, schedule.At(200), 15);
        Assert.Equal(1e-5, schedule.At(300), 15);
        Assert.Equal(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.Cos(Math.PI * 0.25)), schedule.At(50), 15);
        Assert.ThrowsAny<ArgumentException>(() => new CosineAnnealing(1e-5, 1e-3, 10));
    }
}
