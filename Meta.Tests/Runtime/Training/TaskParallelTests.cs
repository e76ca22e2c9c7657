using Meta.Algorithms;
using Meta.Experiments;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Training;

/// <summary>
/// Task-parallel meta-steps (<c>--parallelism tasks</c>): split over 2 and 3 threads, a step equals the one-thread step
/// in float64, for every algorithm that allows it, with and without task weights; and a short training run is the same
/// twice.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TaskParallelTests : IDisposable
{
    public TaskParallelTests() => TorchRuntime.UseThreads(1);

    public void Dispose() => torch.set_num_threads(1);

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var name in new[] { "maml", "fomaml", "maml-analytic", "fomaml-analytic", "reptile", "reptile-adam", "imaml", "metasgd", "maml++", "metacurvature", "anil" })
            foreach (var threads in new[] { 2, 3 })
                foreach (var weighted in new[] { false, true })
                    data.Add(name, threads, weighted);
        return data;
    }

    /// <summary>The autograd path: the MLP with its analytic capability hidden.</summary>
    private sealed class AutogradOnly(IFunctionalNetwork inner) : IFunctionalNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
    }

    private static IMetaAlgorithm Create(string name, Mlp mlp) => name switch
    {
        "maml" => new Maml(new AutogradOnly(mlp), 2, 0.05, firstOrder: false),
        "fomaml" => new Maml(new AutogradOnly(mlp), 2, 0.05, firstOrder: true),
        "maml-analytic" => new Maml(mlp, 3, 0.05, firstOrder: false),
        "fomaml-analytic" => new Maml(mlp, 3, 0.05, firstOrder: true),
        "reptile" => new Reptile(mlp, new ReptileOptions { InnerSteps = 3, InnerLr = 0.05, ClipNorm = 1 }),
        "reptile-adam" => new Reptile(mlp, new ReptileOptions { InnerSteps = 3, InnerLr = 0.05, Optimizer = InnerOptimizer.Adam }),
        "imaml" => new ImplicitMaml(mlp, new ImplicitMamlOptions { InnerSteps = 2, InnerLr = 0.05, Lambda = 5 }),
        "metasgd" => new MetaSgd(mlp, 2, 0.05),
        "maml++" => new MamlPlusPlus(mlp, new MamlPlusPlusOptions { InnerSteps = 3, InnerLr = 0.05, LearnedLearningRates = true, MultiStepLoss = true }),
        "metacurvature" => new MetaCurvature(mlp, 2, 0.05, learnedLearningRates: true),
        "anil" => new Anil(mlp, 2, 0.05, firstOrder: false),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_step_split_over_threads_equals_the_one_thread_step(string name, int threads, bool weighted)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 7);
        var algorithm = Create(name, network);
        Assert.True(algorithm.TaskParallel);
        var meta = algorithm.InitialMetaParameters(theta);
        if (meta.shape[0] > theta.shape[0])                              // learned rates: not all equal, so their slots matter
        {
            using var g = new Generator(3);
            meta = meta + rand(meta.shape, ScalarType.Float64, generator: g) * 0.01;
        }
        var weights = weighted ? linspace(0.2, 1.8, episode.Tasks, ScalarType.Float64) : null;
        algorithm.BeginIteration(5);

        var whole = algorithm.MetaStep(meta, episode, weights);
        using var parallel = new TaskParallel(threads);
        var split = parallel.MetaStep(algorithm, meta, episode, weights);

        Assert.True(MaxAbs(whole.Gradient, split.Gradient) <= 1e-12, $"gradient differs by {MaxAbs(whole.Gradient, split.Gradient):E2}");
        Assert.True(MaxAbs(whole.MetaLoss, split.MetaLoss) <= 1e-12, "meta-loss differs");
        Assert.True(MaxAbs(whole.TaskLosses, split.TaskLosses) <= 1e-12, "task losses differ or are out of order");
        Assert.Equal(whole.Diagnostics?.Keys.Order(), split.Diagnostics?.Keys.Order());
        foreach (var key in whole.Diagnostics?.Keys ?? [])
            if (!key.EndsWith(".median", StringComparison.Ordinal))
                Assert.True(Math.Abs(whole.Diagnostics![key] - split.Diagnostics![key]) <= 1e-10 * Math.Max(1, Math.Abs(whole.Diagnostics[key])),
                    $"{key}: {whole.Diagnostics[key]} vs {split.Diagnostics![key]}");
        Assert.False(split.Gradient.requires_grad);
    }

    [Fact]
    public void Repeated_steps_reuse_the_workers_and_the_calling_thread_keeps_no_tensors()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 6);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        using var parallel = new TaskParallel(2);
        for (var i = 0; i < 5; i++)
        {
            using var inner = NewDisposeScope();
            parallel.MetaStep(maml, theta, episode);
        }
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 20; i++)
        {
            using var inner = NewDisposeScope();
            parallel.MetaStep(maml, theta, episode);
        }
        // The statistics are per thread: the worker's results are created there and disposed here, so this thread's
        // count may fall, but it must not grow.
        Assert.True(DisposeScopeManager.Statistics.ThreadTotalLiveCount <= before, "the calling thread keeps tensors from step to step");
    }

    [Fact]
    public void Fewer_tasks_than_threads_use_one_chunk_per_task()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 2);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        var whole = maml.MetaStep(theta, episode);
        using var parallel = new TaskParallel(3);
        Assert.True(MaxAbs(whole.Gradient, parallel.MetaStep(maml, theta, episode).Gradient) <= 1e-12);
    }

    [Fact]
    public void An_algorithm_that_declines_runs_whole_and_says_so_once()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        using var g = new Generator(2);
        var reptile = new Reptile(network, new ReptileOptions { InnerSteps = 2, InnerLr = 0.05, InnerBatchSize = 3 }, g);
        Assert.False(reptile.TaskParallel);
        Assert.False(new MamlPlusPlus(network, new MamlPlusPlusOptions { InnerSteps = 2, GradientClamp = 1 }).TaskParallel);
        Assert.False(new MamlPlusPlus(new BatchNormMlp(2, 1, 8, 8, 1), new MamlPlusPlusOptions { InnerSteps = 2 }).TaskParallel);
        var messages = new List<string>();
        using var parallel = new TaskParallel(2) { Declined = messages.Add };
        parallel.MetaStep(reptile, theta, episode);
        parallel.MetaStep(reptile, theta, episode);
        Assert.Equal("reptile does not support task-parallel meta-steps in this configuration; each step runs on one thread", Assert.Single(messages));
    }

    [Fact]
    public void A_failing_chunk_fails_the_step_on_the_calling_thread_and_wrong_weights_are_refused_first()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        using var parallel = new TaskParallel(2);
        var error = Assert.Throws<ArgumentException>(() => parallel.MetaStep(maml, theta.narrow(0, 0, 5), episode));
        Assert.Contains("flat vector", error.Message);
        error = Assert.Throws<ArgumentException>(() => parallel.MetaStep(maml, theta, episode, ones(3, ScalarType.Float64)));
        Assert.Contains("task weights must be [4]", error.Message);
        Assert.True(parallel.MetaStep(maml, theta, episode).Gradient.isfinite().all().ToBoolean());   // the workers survived
    }

    [Fact]
    public void Diagnostics_merge_by_name()
    {
        var merged = TaskParallel.CombineDiagnostics(
            [new Dictionary<string, double> { ["a.max"] = 1, ["a.min"] = 1, ["n.tasks"] = 2, ["m"] = 1 },
             null,
             new Dictionary<string, double> { ["a.max"] = 3, ["a.min"] = double.NaN, ["n.tasks"] = 1, ["m"] = 4 }],
            [1, 5, 2])!;
        Assert.Equal(3, merged["a.max"]);
        Assert.True(double.IsNaN(merged["a.min"]));
        Assert.Equal(3, merged["n.tasks"]);
        Assert.Equal(3, merged["m"], 12);                                // (1·1 + 4·2) / 3
        Assert.Null(TaskParallel.CombineDiagnostics([null, null], [1, 1]));
    }

    [Fact]
    public async Task A_training_run_with_two_task_threads_is_the_same_twice()
    {
        var root = Path.Combine(Path.GetTempPath(), "meta-task-parallel-" + Guid.NewGuid().ToString("N"));
        try
        {
            var losses = new List<string[]>();
            foreach (var run in new[] { "a", "b" })
            {
                var output = Path.Combine(root, run);
                var code = await MetaHost.RunAsync(
                    ["sine-maml", "--iterations", "40", "--threads", "2", "--parallelism", "tasks", "--pretrain-iterations", "2",
                     "--eval-tasks", "4", "--log-every", "10", "--output", output],
                    [SineMaml.Descriptor]);
                Assert.Equal(0, code);
                var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
                var csv = File.ReadAllLines(Path.Combine(folder, "metrics.csv"));
                var column = Array.IndexOf(csv[0].Split(','), "meta_loss");
                Assert.True(column >= 0, "metrics.csv has a meta_loss column: " + csv[0]);
                losses.Add([.. csv.Skip(1).Select(line => line.Split(',')[column])]);
            }
            Assert.Equal(40, losses[0].Length);
            Assert.Equal(losses[0], losses[1]);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static double MaxAbs(Tensor a, Tensor b) => (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().ToDouble();
}
