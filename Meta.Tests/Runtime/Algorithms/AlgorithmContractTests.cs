using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.Algorithms.AlgorithmFixtures;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Algorithms;

/// <summary>What every algorithm promises: θ untouched, detached results of the right shapes, no leaked tensors.</summary>
[Collection(TorchCollection.Name)]
public sealed class AlgorithmContractTests
{
    public AlgorithmContractTests() => TorchRuntime.UseThreads(1);

    public static TheoryData<string> Names => ["reptile", "imaml", "metasgd", "maml++", "maml++bn", "metacurvature", "metacurvature-lslr", "anil"];

    private static IMetaAlgorithm Create(string name, IFunctionalNetwork mlp, Generator g) => name switch
    {
        "reptile" => new Reptile(mlp, new ReptileOptions { InnerSteps = 2, InnerBatchSize = 3, Optimizer = InnerOptimizer.Adam, ClipNorm = 5 }, g),
        "imaml" => new ImplicitMaml(mlp, new ImplicitMamlOptions { InnerSteps = 2, Lambda = 5 }),
        "metasgd" => new MetaSgd(mlp, 2, 0.01),
        "maml++" => new MamlPlusPlus(mlp, new MamlPlusPlusOptions { InnerSteps = 2, GradientClamp = 1 }),
        "maml++bn" => new MamlPlusPlus(new BatchNormMlp(2, 1, 8, 8, 1), new MamlPlusPlusOptions { InnerSteps = 2 }),
        "metacurvature" => new MetaCurvature(mlp, 2, 0.01),
        "metacurvature-lslr" => new MetaCurvature(mlp, 2, 0.01, learnedLearningRates: true),
        "anil" => new Anil((Mlp)mlp, 2, 0.01, firstOrder: false),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Meta_step_leaves_the_meta_parameters_alone_and_returns_detached_results(string name)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 3);
        using var g = new Generator(1);
        var algorithm = Create(name, network, g);
        var meta = algorithm.InitialMetaParameters(algorithm.Network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64));
        var before = meta.clone();
        var step = algorithm.MetaStep(meta, episode);
        Assert.True(MaxAbs(Values(meta), Values(before)) == 0, "the meta-parameters changed");
        Assert.Equal(meta.shape, step.Gradient.shape);
        Assert.Equal([3L], step.TaskLosses.shape);
        Assert.Equal(0, step.MetaLoss.dim());
        Assert.False(step.Gradient.requires_grad || step.MetaLoss.requires_grad || step.TaskLosses.requires_grad);
        Assert.True(step.Gradient.isfinite().all().ToBoolean());
        Assert.Equal(algorithm.Network.Layout.Count, algorithm.Weights(meta).shape[0]);
        var fast = algorithm.Adapt(meta, episode.SupportX, episode.SupportY, 3);
        Assert.Equal([3L, algorithm.Network.Layout.Count], fast.shape);
        Assert.False(fast.requires_grad);
        _ = theta;
    }

    public static TheoryData<string> ConvNames => ["maml", "fomaml", "reptile", "imaml", "metasgd", "maml++", "maml++bn", "metacurvature", "metacurvature-lslr", "anil"];

    /// <summary>Every algorithm on a tiny conv-4 with batch norm and cross-entropy (the image families' set-up).</summary>
    private static IMetaAlgorithm CreateForImages(string name, Generator g)
    {
        var conv = new ConvNet(2, channels: 1, height: 8, width: 8, filters: 4, blocks: 2, perStepBatchNorm: name == "maml++bn" ? 2 : 0);
        var ce = TaskLoss.CrossEntropyLoss;
        return name switch
        {
            "maml" => new Maml(conv, ce, 2, 0.1, firstOrder: false),
            "fomaml" => new Maml(conv, ce, 2, 0.1, firstOrder: true),
            "reptile" => new Reptile(conv, ce, new ReptileOptions { InnerSteps = 2, InnerLr = 0.1 }, g),
            "imaml" => new ImplicitMaml(conv, ce, new ImplicitMamlOptions { InnerSteps = 2, InnerLr = 0.05, Lambda = 5 }),
            "metasgd" => new MetaSgd(conv, ce, 2, 0.1),
            "maml++" or "maml++bn" => new MamlPlusPlus(conv, ce, new MamlPlusPlusOptions { InnerSteps = 2, InnerLr = 0.1 }),
            "metacurvature" => new MetaCurvature(conv, ce, 2, 0.1),
            "metacurvature-lslr" => new MetaCurvature(conv, ce, 2, 0.1, learnedLearningRates: true),
            "anil" => new Anil(conv, ce, 2, 0.1, firstOrder: false),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
        };
    }

    [Theory]
    [MemberData(nameof(ConvNames))]
    public void Every_algorithm_takes_meta_steps_on_conv4_with_cross_entropy_and_its_query_loss_falls(string name)
    {
        using var scope = NewDisposeScope();
        var (_, _, episode) = TinyConvProblem(tasks: 3, ways: 2);
        using var g = new Generator(4);
        var algorithm = CreateForImages(name, g);
        var meta = algorithm.InitialMetaParameters(algorithm.Network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64));
        using var adam = new Adam(meta, 0.01);
        var first = 0.0;
        var last = 0.0;
        for (var i = 0; i < 30; i++)
        {
            using var inner = NewDisposeScope();
            algorithm.BeginIteration(i);
            var step = algorithm.MetaStep(meta, episode);
            Assert.True(step.Gradient.isfinite().all().ToBoolean(), $"non-finite meta-gradient at step {i}");
            adam.Step(step.Gradient);
            if (i == 0) first = step.MetaLoss.item<double>();
            last = step.MetaLoss.item<double>();
        }
        // Reptile does not descend the query loss (its update moves θ towards the adapted weights), and these query images
        // are random: only the algorithms whose meta-gradient is that of the query loss must lower it.
        if (name != "reptile") Assert.True(last < first, $"{name}: query loss {first:0.000} → {last:0.000} on a fixed episode");
        var fast = algorithm.Adapt(meta, episode.SupportX, episode.SupportY, 3);
        Assert.Equal([3L, algorithm.Network.Layout.Count], fast.shape);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Repeated_meta_steps_leak_no_tensors(string name)
    {
        var network = new Mlp(1, 8, 8, 1);
        using var g = new Generator(2);
        var algorithm = Create(name, network, g);
        var family = new SinusoidFamily(SinusoidRanges.Default);
        using var theta = algorithm.Network.Initialize(WeightInit.PyTorch, g);
        using var meta = algorithm.InitialMetaParameters(theta);
        using var adam = new Adam(meta, 0.001);
        long live = 0;
        for (var i = 0; i < 60; i++)
        {
            if (i == 20) live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            using var scope = NewDisposeScope();
            algorithm.BeginIteration(i);
            adam.Step(algorithm.MetaStep(meta, family.Episode(family.Sample(4, g), 5, 5, g)).Gradient);
        }
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
