using Meta.Algorithms;
using Meta.Distributed;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Distributed;

[Collection(TorchCollection.Name)]
public sealed class DataParallelTests
{
    private const int Tasks = 8;
    private const int Iterations = 4;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Ranks_follow_the_single_process_trajectory_on_the_same_combined_meta_batch(int ranks)
    {
        var episodes = Episodes();
        var single = Train(new SingleProcess(), episodes);

        using var group = new InProcessGroup(ranks, TimeSpan.FromSeconds(30));
        var results = new double[ranks][];
        var threads = Enumerable.Range(0, ranks).Select(r => new Thread(() => results[r] = Train(group.Rank(r), episodes))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        for (var r = 0; r < ranks; r++)
        {
            Assert.Equal(results[0], results[r]);                          // bit-identical across ranks
            Assert.True(single.Zip(results[r], (a, b) => Math.Abs(a - b)).Max() <= 1e-12, $"rank {r} departs from the single-process run");
        }
    }

    [Theory]
    [InlineData("reptile")]
    [InlineData("imaml")]
    [InlineData("metasgd")]
    [InlineData("maml++")]
    [InlineData("metacurvature")]
    [InlineData("anil")]
    public void Every_algorithm_on_two_ranks_follows_the_single_process_trajectory(string name)
    {
        var episodes = Episodes();
        var single = Train(new SingleProcess(), episodes, name);
        using var group = new InProcessGroup(2, TimeSpan.FromSeconds(30));
        var results = new double[2][];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() => results[r] = Train(group.Rank(r), episodes, name))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal(results[0], results[1]);
        Assert.True(single.Zip(results[1], (a, b) => Math.Abs(a - b)).Max() <= 1e-12, $"{name}: two ranks depart from the single-process run");
    }

    private static IMetaAlgorithm Create(string name, Meta.Functional.Mlp network) => name switch
    {
        "maml" => new Maml(network, 2, 0.05, firstOrder: false),
        "reptile" => new Reptile(network, new ReptileOptions { InnerSteps = 2, InnerLr = 0.05 }),
        "imaml" => new ImplicitMaml(network, new ImplicitMamlOptions { InnerSteps = 2, InnerLr = 0.05, Lambda = 5 }),
        "metasgd" => new MetaSgd(network, 2, 0.05),
        "maml++" => new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 2, InnerLr = 0.05 }),
        "metacurvature" => new MetaCurvature(network, 2, 0.05, learnedLearningRates: true),
        "anil" => new Anil(network, 2, 0.05, firstOrder: false),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    [Fact]
    public void Shares_split_the_meta_batch_evenly_with_the_remainder_on_the_first_ranks()
    {
        using var group = new InProcessGroup(4);
        Assert.Equal([7, 6, 6, 6], Enumerable.Range(0, 4).Select(r => group.Rank(r).Share(25)));
        Assert.Throws<ArgumentException>(() => group.Rank(0).Share(3));
    }

    [Fact]
    public void A_rank_that_never_arrives_makes_the_others_fail_within_the_timeout()
    {
        using var group = new InProcessGroup(2, TimeSpan.FromMilliseconds(300));
        var reducer = group.Rank(0);
        var error = Assert.Throws<TimeoutException>(() => reducer.SumInPlace([1.0]));
        Assert.Contains("did not reach the collective", error.Message);
    }

    [Fact]
    public void Diverged_parameters_are_a_hard_error()
    {
        using var group = new InProcessGroup(2, TimeSpan.FromSeconds(10));
        Exception? failure = null;
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var scope = NewDisposeScope();
            var parameters = ones(5, ScalarType.Float64) * (r == 0 ? 1.0 : 1.0 + 1e-15);
            try { group.Rank(r).VerifyIdentical(parameters, 17); }
            catch (DistributedException e) when (r == 0) { failure = e; }
            catch (DistributedException) { }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.NotNull(failure);
        Assert.Contains("iteration 17", failure!.Message);
        Assert.Contains("rank(s) 1", failure.Message);
    }

    private static List<(Tensor SX, Tensor SY, Tensor QX, Tensor QY)> Episodes()
    {
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        using var g = new Generator(21);
        var list = new List<(Tensor, Tensor, Tensor, Tensor)>();
        for (var i = 0; i < Iterations; i++)
        {
            var e = family.Episode(family.Sample(Tasks, g), 5, 5, g);
            list.Add((e.SupportX.DetachFromDisposeScope(), e.SupportY.DetachFromDisposeScope(), e.QueryX.DetachFromDisposeScope(), e.QueryY.DetachFromDisposeScope()));
        }
        return list;
    }

    private static double[] Train(IAllReducer reducer, List<(Tensor SX, Tensor SY, Tensor QX, Tensor QY)> episodes, string algorithm = "maml")
    {
        var network = new Meta.Functional.Mlp(1, 8, 8, 1);
        using var g = new Generator(5);
        using var theta = network.Initialize(Meta.Functional.WeightInit.PyTorch, g, ScalarType.Float64);
        var maml = Create(algorithm, network);
        using var meta = maml.InitialMetaParameters(theta);
        using var adam = new Adam(meta, 0.01);
        var share = reducer.Share(Tasks);
        var offset = Enumerable.Range(0, reducer.Rank).Sum(r => Tasks / reducer.Size + (r < Tasks % reducer.Size ? 1 : 0));
        foreach (var (sx, sy, qx, qy) in episodes)
        {
            using var scope = NewDisposeScope();
            var local = new Episode(sx, sy, qx, qy).Slice(offset, share);
            maml.BeginIteration(episodes.IndexOf((sx, sy, qx, qy)));
            var step = maml.MetaStep(meta, local);
            reducer.AverageGradient(step.Gradient, share);
            adam.Step(step.Gradient);
        }
        reducer.VerifyIdentical(meta, episodes.Count);
        return meta.data<double>().ToArray();
    }
}
