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
        var numeric = FiniteDifferences(m => ReferenceObjective(network, mc, m, episode, steps, 0.05), meta);
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
        var e = Assert.ThrowsAny<ArgumentException>(() => new MetaCurvature(new BatchNormMlp(2, 1, 4, 1), 1, 0.1));
        Assert.Contains("linear layers only", e.Message, StringComparison.Ordinal);
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

    /// <summary>θ followed by I + 0.1·noise for every matrix.</summary>
    private static Tensor PerturbedCurvature(MetaCurvature mc, Tensor theta)
    {
        using var g = new Generator(21);
        var meta = mc.InitialMetaParameters(theta);
        var p = theta.shape[0];
        meta.narrow(0, p, mc.MatrixCount).add_(0.1 * randn([mc.MatrixCount], ScalarType.Float64, generator: g));
        return meta;
    }

    /// <summary>Per task: S steps with each layer's gradient multiplied out explicitly, then the mean query loss.</summary>
    private static double ReferenceObjective(Mlp network, MetaCurvature mc, Tensor meta, Episode episode, int steps, double lr)
    {
        using var scope = NewDisposeScope();
        var theta = mc.Weights(meta);
        var matrices = mc.Matrices(meta);
        var total = 0.0;
        for (var t = 0; t < episode.Tasks; t++)
        {
            var task = episode.Slice(t, 1);
            var phi = theta.clone();
            for (var s = 0; s < steps; s++)
            {
                var point = phi.detach().unsqueeze(0).requires_grad_(true);
                var gradient = torch.autograd.grad([TaskLoss.MeanSquaredError(network.Forward(point, task.SupportX), task.SupportY).sum()], [point])[0][0];
                var step = new List<Tensor>();
                for (var layer = 0; layer < network.Widths.Count - 1; layer++)
                {
                    var (w, b) = (network.Layout.Slots[2 * layer], network.Layout.Slots[2 * layer + 1]);
                    var (mIn, mOut) = (matrices[2 * layer], matrices[2 * layer + 1]);
                    var gw = gradient.narrow(0, w.Offset, w.Size).view(w.Shape[0], w.Shape[1]);
                    var gb = gradient.narrow(0, b.Offset, b.Size);
                    step.Add(mm(mm(mIn, gw), mOut).flatten());
                    step.Add(mv(mOut.t(), gb));                                      // g_b · M_out as a row vector
                }
                phi = phi - lr * cat(step, 0);
            }
            total += TaskLoss.MeanSquaredError(network.Forward(phi.unsqueeze(0), task.QueryX), task.QueryY).ToDouble();
        }
        return total / episode.Tasks;
    }
}
