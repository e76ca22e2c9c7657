using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime;

/// <summary>Small float64 problems shared by the gradient tests.</summary>
internal static class TorchFixtures
{
    /// <summary>A 1-8-8-1 MLP, θ in float64 (PyTorch init so that no weight is tiny), and an episode of <paramref name="tasks"/> sinusoid tasks.</summary>
    public static (Mlp Network, Tensor Theta, Episode Episode) SmallProblem(int tasks, int support = 5, int query = 7, ulong seed = 7)
    {
        var network = new Mlp(1, 8, 8, 1);
        using var g = new Generator(seed);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        var draw = family.Sample(tasks, g);
        var episode = family.Episode(draw, support, query, g);
        return (network, theta, episode);
    }

    /// <summary>
    /// A tiny conv net (2 blocks × 4 filters on 8 × 8 grey images, <paramref name="ways"/> ways), θ in float64 (PyTorch
    /// init plus a little noise, so that γ and β are not exactly 1 and 0), and an episode of <paramref name="tasks"/>
    /// tasks with 2 support and 2 query images per class. <paramref name="batchNorm"/> and
    /// <paramref name="perStepBatchNorm"/> are passed to the network (each per-step set gets its own noise).
    /// </summary>
    public static (ConvNet Network, Tensor Theta, Episode Episode) TinyConvProblem(int tasks, int ways = 2, bool batchNorm = true, int perStepBatchNorm = 0, ulong seed = 17)
    {
        var network = new ConvNet(ways, channels: 1, height: 8, width: 8, filters: 4, blocks: 2, batchNorm: batchNorm, perStepBatchNorm: perStepBatchNorm);
        using var g = new Generator(seed);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        theta = theta + randn(theta.shape, ScalarType.Float64, generator: g) * 0.1;
        var labels = arange(ways, ScalarType.Int64).repeat_interleave(2).unsqueeze(0).expand(tasks, 2 * ways).contiguous();
        var episode = new Episode(
            rand([tasks, 2 * ways, 1, 8, 8], ScalarType.Float64, generator: g), labels,
            rand([tasks, 2 * ways, 1, 8, 8], ScalarType.Float64, generator: g), labels.clone());
        return (network, theta, episode);
    }

    /// <summary>Central finite differences of a scalar function of θ, coordinate by coordinate.</summary>
    public static double[] FiniteDifferences(Func<Tensor, double> f, Tensor theta, double eps = 1e-6)
    {
        var p = (int)theta.shape[0];
        var result = new double[p];
        for (var i = 0; i < p; i++)
        {
            using var plus = theta.clone();
            using var minus = theta.clone();
            using (no_grad())
            {
                plus[i] += eps;
                minus[i] -= eps;
            }
            result[i] = (f(plus) - f(minus)) / (2 * eps);
        }
        return result;
    }

    /// <summary>‖a − b‖ / ‖b‖.</summary>
    public static double RelativeError(double[] a, double[] b)
    {
        double diff = 0, norm = 0;
        for (var i = 0; i < a.Length; i++)
        {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }
        return Math.Sqrt(diff) / Math.Sqrt(norm);
    }

    /// <summary>The tensor's values.</summary>
    public static double[] Values(Tensor t) => t.to_type(ScalarType.Float64).data<double>().ToArray();
}
