using System.Diagnostics;
using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Distributed;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Hosting;

/// <summary>
/// A real <c>mpirun.mpich -np 2</c> run of sine-maml. Its ranks verify among themselves that θ is identical (every 100
/// iterations and at the end); here its final θ is compared with the same two ranks simulated in-process, which
/// <see cref="Meta.Tests.Runtime.Distributed.DataParallelTests"/> shows equal to one process on the combined meta-batch.
/// Skipped (visibly) without MPICH; .ci/run installs it (Debian's <c>mpich</c>) and makes the skip a failure.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MpiTests : IDisposable
{
    private readonly string _output = Path.Combine(Path.GetTempPath(), "meta-mpi-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_output)) Directory.Delete(_output, recursive: true);
    }

    [SkippableFact]
    public async Task Two_mpi_ranks_train_the_same_theta_as_two_simulated_ranks()
    {
        OptionalParts.RequireMpich();
        var info = new ProcessStartInfo(OptionalParts.MpiRun) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-np", "2", "dotnet", Path.Combine(AppContext.BaseDirectory, "Meta.Experiments.dll"), "sine-maml",
                     "--distributed", "mpi", "--iterations", "120", "--meta-batch", "6", "--seed", "3", "--eval-tasks", "8",
                     "--pretrain-iterations", "0", "--output", _output })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "mpirun did not finish");
        var text = await error + await output;
        Assert.True(process.ExitCode == 0, $"mpirun exited {process.ExitCode}: {text}");

        var folder = Assert.Single(Directory.GetDirectories(Path.Combine(_output, "sine-maml")));   // rank 0 alone writes
        var reader = CheckpointFile.Read(Path.Combine(folder, "checkpoints", "iteration-00000120.ckpt"));
        using var mpiTheta = reader.Tensor("meta.value");

        var simulated = Simulate(ranks: 2, iterations: 120, metaBatch: 6, seed: 3);
        Assert.Equal(simulated, mpiTheta.data<float>().ToArray());
    }

    [Fact]
    public void Asking_for_mpi_without_mpirun_is_a_one_line_error_naming_the_fix()
    {
        var result = ExperimentProcess.Run(["sine-maml", "--distributed", "mpi", "--output", _output]);
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("mpirun.mpich -np N", line);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.False(Directory.Exists(_output));
    }

    /// <summary>The generated sine-maml loop, with the MPI group replaced by threads.</summary>
    private static float[] Simulate(int ranks, int iterations, int metaBatch, long seed)
    {
        using var group = new InProcessGroup(ranks, TimeSpan.FromSeconds(60));
        var results = new float[ranks][];
        var threads = Enumerable.Range(0, ranks).Select(rank => new Thread(() =>
        {
            var reducer = group.Rank(rank);
            using var seeds = new RunSeeds(seed, reducer.Rank);
            var family = new SinusoidFamily(SinusoidRanges.Default);
            var network = Mlp.ForSinusoid();
            var algorithm = new Maml(network, 1, 0.01, firstOrder: false);
            using var theta = network.Initialize(WeightInit.Finn, seeds.Weights);
            using var meta = algorithm.InitialMetaParameters(theta);
            using var adam = new Adam(meta, 0.001);
            var share = reducer.Share(metaBatch);
            for (var i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                var step = algorithm.MetaStep(meta, family.Episode(family.Sample(share, seeds.Tasks), 10, 10, seeds.Tasks));
                reducer.AverageGradient(step.Gradient, share);
                adam.Step(step.Gradient);
            }
            results[rank] = meta.data<float>().ToArray();
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal(results[0], results[1]);
        return results[0];
    }
}
