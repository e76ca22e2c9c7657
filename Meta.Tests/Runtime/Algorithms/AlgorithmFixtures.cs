using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Algorithms;

/// <summary>Helpers shared by the algorithm tests.</summary>
internal static class AlgorithmFixtures
{
    /// <summary>The mean query loss of the fast weights <paramref name="algorithm"/>'s test-time rule gives after <paramref name="steps"/> steps.</summary>
    public static double QueryLossAfterAdapt(IMetaAlgorithm algorithm, Tensor meta, Episode episode, int steps)
    {
        using var scope = NewDisposeScope();
        var fast = algorithm.Adapt(meta, episode.SupportX, episode.SupportY, steps);
        using var noGrad = no_grad();
        return algorithm.Loss.PerTask(algorithm.Network.Forward(fast, episode.QueryX), episode.QueryY).mean().ToDouble();
    }

    /// <summary>
    /// A short sinusoid meta-training run (float32, 1-40-40-1, 10 tasks of 10 + 10 points); returns the meta-loss of
    /// every iteration.
    /// </summary>
    public static List<double> TrainOnSinusoids(Func<IFunctionalNetwork, IMetaAlgorithm> create, Func<Tensor, IMetaOptimizer> optimizer,
        int iterations, IFunctionalNetwork? network = null, ulong seed = 5)
    {
        network ??= new Mlp(1, 40, 40, 1);
        var algorithm = create(network);
        using var g = new Generator(seed);
        var family = new SinusoidFamily(SinusoidRanges.Default);
        using var theta = network.Initialize(WeightInit.PyTorch, g);
        using var meta = algorithm.InitialMetaParameters(theta);
        using var opt = optimizer(meta);
        var losses = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            using var scope = NewDisposeScope();
            algorithm.BeginIteration(i);
            var tasks = family.Sample(10, g);
            var step = algorithm.MetaStep(meta, family.Episode(tasks, 10, 10, g));
            opt.Step(step.Gradient);
            losses.Add(step.MetaLoss.ToDouble());
        }
        return losses;
    }

    /// <summary>Asserts that the mean of the last <paramref name="window"/> losses is below <paramref name="factor"/> × the first window's.</summary>
    public static void AssertFalls(IReadOnlyList<double> losses, double factor, int window = 50)
    {
        var first = losses.Take(window).Average();
        var last = losses.Skip(losses.Count - window).Average();
        Assert.True(last < factor * first, $"loss should fall: first {window} mean {first:0.000}, last {window} mean {last:0.000}");
    }

    /// <summary>max |a − b|.</summary>
    public static double MaxAbs(double[] a, double[] b)
    {
        Assert.Equal(b.Length, a.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0).Max();
    }

    /// <summary>Asserts relative error ≤ <paramref name="tolerance"/>.</summary>
    public static void AssertClose(double[] actual, double[] expected, double tolerance, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        var error = TorchFixtures.RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"{what} relative error {error:E2} > {tolerance:E0}");
    }
}
