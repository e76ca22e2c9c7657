using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Evaluation;

/// <summary>Seed 002's from-scratch curve: per episode, Adam from one fixed initialisation, scored on the query set.</summary>
[Collection(TorchCollection.Name)]
public sealed class ScratchCurveTests
{
    [Fact]
    public void One_task_equals_flat_adam_steps_from_the_baseline_initialisation()
    {
        var (network, _, episode) = TorchFixtures.SmallProblem(tasks: 1);
        using var seeds = new RunSeeds(5);
        using var curve = ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps: 4, learningRate: 0.01);
        var observed = curve.Observe(episode);

        using var baseline = seeds.NewBaselines();
        using var weights = network.Initialize(WeightInit.PyTorch, baseline).to_type(ScalarType.Float64);
        using var adam = new Adam(weights, 0.01);
        for (var i = 0; i < 4; i++)
        {
            using var g = InnerLoop.Gradient(network, TaskLoss.MeanSquaredErrorLoss, weights.unsqueeze(0), episode.SupportX, episode.SupportY, differentiable: false);
            adam.Step(g.squeeze(0));
        }
        using var noGrad = no_grad();
        var expected = TaskLoss.MeanSquaredError(network.Forward(weights.unsqueeze(0), episode.QueryX), episode.QueryY).item<double>();

        Assert.Equal(expected, observed, 1e-12);
        Assert.Equal([observed], curve.Losses);
    }

    [Fact]
    public void Batched_tasks_give_the_mean_of_each_task_alone_and_the_initialisation_never_moves()
    {
        var (network, _, episode) = TorchFixtures.SmallProblem(tasks: 3);
        using var seeds = new RunSeeds(9);
        using var batched = ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps: 3, learningRate: 0.005);
        using var single = ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps: 3, learningRate: 0.005);

        var mean = batched.Observe(episode);
        var again = batched.Observe(episode);   // same episode, same fixed start: same loss
        var alone = Enumerable.Range(0, 3).Select(t => single.Observe(new Episode(
            episode.SupportX[t..(t + 1)], episode.SupportY[t..(t + 1)], episode.QueryX[t..(t + 1)], episode.QueryY[t..(t + 1)]))).Average();

        Assert.Equal(alone, mean, 1e-12);
        Assert.Equal(mean, again);
    }

    [Fact]
    public void The_curve_survives_a_checkpoint()
    {
        var (network, _, episode) = TorchFixtures.SmallProblem(tasks: 2);
        using var seeds = new RunSeeds(3);
        using var curve = ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps: 2, learningRate: 0.01);
        curve.Observe(episode);
        curve.Observe(episode);
        var writer = new CheckpointWriter();
        curve.Save("scratch.", writer);
        var path = Path.Combine(Path.GetTempPath(), "meta-scratch-" + Guid.NewGuid().ToString("N") + ".ckpt");
        try
        {
            CheckpointFile.Write(path, new CheckpointManifest("t", "maml", 2, "h", CheckpointManifest.CurrentVersions(), DateTimeOffset.UnixEpoch), writer);
            using var restored = ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps: 2, learningRate: 0.01);
            restored.Load("scratch.", CheckpointFile.Read(path));
            Assert.Equal(curve.Losses, restored.Losses);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(3, 0.0)]
    [InlineData(3, double.NaN)]
    public void Bad_settings_are_refused(int steps, double rate)
    {
        var (network, _, _) = TorchFixtures.SmallProblem(tasks: 1);
        using var seeds = new RunSeeds(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ScratchCurve.Create(network, TaskLoss.MeanSquaredErrorLoss, WeightInit.PyTorch, seeds, steps, rate));
    }
}
