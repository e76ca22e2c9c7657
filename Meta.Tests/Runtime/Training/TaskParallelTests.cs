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
/// in float64, for every algorithm that allows it, with and without task weights (MAML on the MLP's kernel bit for bit,
/// float32 included); the splitter's threads; and a short training run is the same twice and the same as on one thread.
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

    public static TheoryData<string, int, int, bool> KernelCases()
    {
        var data = new TheoryData<string, int, int, bool>();
        foreach (var dtype in new[] { "float32", "float64", "cross-entropy" })
            foreach (var (tasks, threads) in new[] { (9, 2), (9, 3), (2, 3) })
                foreach (var firstOrder in new[] { false, true })
                    data.Add(dtype, tasks, threads, firstOrder);
        return data;
    }

    // MAML on the MLP splits inside the managed kernel: the threads take tasks one at a time and the calling thread continues
    // the first worker's sum with the back's rows in task order, so the step is the one-thread step bit for bit, float32 included, weights or not.
    [Theory]
    [MemberData(nameof(KernelCases))]
    public void The_kernel_split_is_the_one_thread_step_bit_for_bit(string kind, int tasks, int threads, bool firstOrder)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(11);
        var crossEntropy = kind == "cross-entropy";
        var dtype = kind == "float32" ? ScalarType.Float32 : ScalarType.Float64;
        var network = crossEntropy ? new Mlp(Activation.Tanh, 4, 6, 6, 3) : new Mlp(1, 16, 16, 1);
        var theta = network.Initialize(WeightInit.PyTorch, g, dtype);
        Episode episode;
        if (crossEntropy)
        {
            episode = new Episode(randn([tasks, 6, 4], dtype, generator: g), randint(3, [tasks, 6], ScalarType.Int64, generator: g),
                randn([tasks, 5, 4], dtype, generator: g), randint(3, [tasks, 5], ScalarType.Int64, generator: g));
        }
        else
        {
            var family = new SinusoidFamily(SinusoidRanges.Default, dtype);
            episode = family.Episode(family.Sample(tasks, g), 5, 7, g);
        }
        var maml = new Maml(network, crossEntropy ? TaskLoss.CrossEntropyLoss : TaskLoss.MeanSquaredErrorLoss, 3, 0.05, firstOrder);
        using var splitter = new TaskSplitter(threads);
        foreach (var weights in new[] { null, rand([tasks], dtype, generator: g) + 0.5 })
        {
            var whole = maml.MetaStep(theta, episode, weights);
            for (var repeat = 0; repeat < 3; repeat++)                     // which thread took which task varies; the result does not
            {
                var split = maml.SplitMetaStep(theta, episode, weights, splitter);
                Assert.NotNull(split);
                Assert.True(torch.equal(whole.Gradient, split.Gradient).all().ToBoolean(), $"gradient differs by {MaxAbs(whole.Gradient, split.Gradient):E2}");
                Assert.True(torch.equal(whole.MetaLoss, split.MetaLoss).all().ToBoolean(), "meta-loss differs");
                Assert.True(torch.equal(whole.TaskLosses, split.TaskLosses).all().ToBoolean(), "task losses differ or are out of order");
            }
        }
    }

    // The calling thread, which sums the back's rows, waits for every other part: a part that fails (a bad label found by the front,
    // by the back, or a draw alongside that throws) must neither hang the step nor leave the threads unusable.
    [Theory]
    [InlineData("front")]
    [InlineData("back")]
    [InlineData("alongside")]
    public void A_failure_in_any_part_of_a_kernel_split_is_rethrown_without_hanging_the_step(string where)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        const int tasks = 9;
        var network = new Mlp(Activation.Tanh, 4, 6, 6, 3);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var supportY = randint(3, [tasks, 6], ScalarType.Int64, generator: g);
        var episode = new Episode(randn([tasks, 6, 4], ScalarType.Float64, generator: g), supportY,
            randn([tasks, 5, 4], ScalarType.Float64, generator: g), randint(3, [tasks, 5], ScalarType.Int64, generator: g));
        var badLabels = supportY.clone();
        if (where != "alongside") badLabels[where == "front" ? 0 : tasks - 1, 2] = tensor(7L);      // class 7 of 3
        var bad = new Episode(episode.SupportX, badLabels, episode.QueryX, episode.QueryY);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 2, 0.05, firstOrder: false);
        var whole = maml.MetaStep(theta, episode);

        var parallel = new TaskParallel(2);      // disposed only if the step returned: disposal joins its worker
        Exception? failure = null;
        var caller = new Thread(() =>
        {
            using var inner = NewDisposeScope();
            failure = Record.Exception(() => parallel.MetaStep(maml, theta, bad,
                alongside: where == "alongside" ? () => throw new InvalidOperationException("draw failed") : null));
        }) { IsBackground = true };
        caller.Start();
        Assert.True(caller.Join(TimeSpan.FromSeconds(60)), "the split step hung");
        using (parallel)
        {
            Assert.Contains(where == "alongside" ? "draw failed" : "class label 7", failure?.Message);
            var split = parallel.MetaStep(maml, theta, episode);                        // the threads still work, exactly
            Assert.True(torch.equal(whole.Gradient, split.Gradient).all().ToBoolean());
            Assert.True(torch.equal(whole.MetaLoss, split.MetaLoss).all().ToBoolean());
        }
    }

    [Fact]
    public void Algorithms_without_a_split_of_their_own_leave_it_to_the_chunks()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        using var splitter = new TaskSplitter(2);
        Assert.Null(new Maml(new AutogradOnly(network), 1, 0.05, firstOrder: false).SplitMetaStep(theta, episode, null, splitter));
        Assert.Null(((IMetaAlgorithm)new MetaSgd(network, 1, 0.05)).SplitMetaStep(theta, episode, null, splitter));
    }

    [Fact]
    public void The_splitter_runs_every_part_once_and_rethrows_the_first_failure_after_all_have_finished()
    {
        using var splitter = new TaskSplitter(3);
        var counts = new int[3];
        var threadsSeen = new int[3];
        splitter.Run(3, part =>
        {
            Interlocked.Increment(ref counts[part]);
            threadsSeen[part] = Environment.CurrentManagedThreadId;
        });
        Assert.Equal([1, 1, 1], counts);
        Assert.Equal(Environment.CurrentManagedThreadId, threadsSeen[0]);               // part 0 on the calling thread
        Assert.Equal(3, threadsSeen.Distinct().Count());

        var finished = new bool[3];
        var error = Assert.Throws<InvalidOperationException>(() => splitter.Run(3, part =>
        {
            if (part == 2) Thread.Sleep(30);
            finished[part] = true;
            if (part >= 1) throw new InvalidOperationException($"part {part}");
        }));
        Assert.Equal("part 1", error.Message);
        Assert.Equal([true, true, true], finished);                                      // no part still running when it threw
        Assert.Throws<ArgumentOutOfRangeException>(() => splitter.Run(4, _ => { }));
        splitter.Run(2, _ => { });                                                        // the workers survived
    }

    [Fact]
    public void A_sleeping_worker_wakes_for_the_next_step_and_disposal_joins_it()
    {
        var splitter = new TaskSplitter(2);
        var ran = 0;
        splitter.Run(2, _ => Interlocked.Increment(ref ran));
        Thread.Sleep(TaskSplitter.SpinBeforeSleeping * 5);                                // the worker is asleep by now
        splitter.Run(2, _ => Interlocked.Increment(ref ran));
        Assert.Equal(4, ran);
        splitter.Dispose();
        splitter.Dispose();                                                               // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => splitter.Run(1, _ => { }));
    }

    [Fact]
    public void The_next_episode_is_drawn_alongside_a_split_step_only_and_is_the_episode_a_plain_draw_gives()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 6);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        using var seeds = new RunSeeds(4);
        using var twin = new RunSeeds(4);                                   // the same streams, drawn plainly
        Episode Draw(RunSeeds s) => family.Episode(family.Sample(6, s.Tasks), 5, 7, s.Tasks);
        using var lookahead = new EpisodeLookahead(seeds);

        using (var one = new TaskParallel(1))
            one.MetaStep(maml, theta, episode, alongside: lookahead.Ahead(() => Draw(seeds)));
        Assert.Null(lookahead.Take());                                      // one thread: nothing drawn ahead

        using var two = new TaskParallel(2);
        for (var i = 0; i < 3; i++)
        {
            using var iteration = NewDisposeScope();
            var current = lookahead.Take() ?? Draw(seeds);
            var plain = Draw(twin);
            Assert.True(torch.equal(current.SupportX, plain.SupportX).all().ToBoolean() && torch.equal(current.QueryY, plain.QueryY).all().ToBoolean(),
                $"iteration {i}: the episode drawn ahead differs from the plain draw");
            two.MetaStep(maml, theta, current, alongside: lookahead.Ahead(() => Draw(seeds)));
        }
        // A checkpoint now records the task generator from before the pending draw: the twin's state.
        var saved = new Meta.Checkpoints.CheckpointWriter();
        seeds.Save("s.", saved);
        var twinSaved = new Meta.Checkpoints.CheckpointWriter();
        twin.Save("s.", twinSaved);
        Assert.Equal(twinSaved.Entries.Single(e => e.Name == "s.tasks").Data, saved.Entries.Single(e => e.Name == "s.tasks").Data);
        var taken = lookahead.Take();
        Assert.NotNull(taken);
        Assert.True(torch.equal(taken.SupportX, Draw(twin).SupportX).all().ToBoolean());
    }

    // An episode taken from the lookahead is the lookahead's: valid through its own iteration and the next one's start,
    // disposed by the draw ahead of the iteration after (off the serial part of a step), and by the lookahead's disposal.
    [Fact]
    public void Episodes_taken_from_the_lookahead_live_through_their_iteration_and_are_disposed_by_the_next_draw_ahead()
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 6);
        var maml = new Maml(network, 1, 0.05, firstOrder: false);
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        using var seeds = new RunSeeds(4);
        Episode Draw() => family.Episode(family.Sample(6, seeds.Tasks), 5, 7, seeds.Tasks);
        using var two = new TaskParallel(2);
        var lookahead = new EpisodeLookahead(seeds);
        two.MetaStep(maml, theta, episode, alongside: lookahead.Ahead(Draw));
        var taken = new List<Episode>();
        for (var i = 0; i < 3; i++)
        {
            using (NewDisposeScope())
            {
                taken.Add(lookahead.Take()!);
                if (i > 0) Assert.False(taken[i - 1].SupportX.IsInvalid, $"iteration {i}: the last iteration's episode went before this step's draw ahead");
                two.MetaStep(maml, theta, taken[i], alongside: lookahead.Ahead(Draw));
            }
            Assert.False(taken[i].SupportX.IsInvalid, $"iteration {i}: its episode went with the iteration's scope");
            if (i > 0) Assert.True(taken[i - 1].QueryY.IsInvalid, $"iteration {i}: the draw ahead left the last iteration's episode alive");
        }
        var pending = lookahead.Take()!;
        lookahead.Dispose();
        Assert.All(new[] { taken[1], taken[2], pending }, e => Assert.True(e.SupportX.IsInvalid && e.QueryY.IsInvalid));
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
    public async Task A_training_run_with_two_task_threads_is_the_same_twice_and_the_same_as_on_one_thread()
    {
        var root = Path.Combine(Path.GetTempPath(), "meta-task-parallel-" + Guid.NewGuid().ToString("N"));
        try
        {
            var losses = new List<string[]>();
            foreach (var (run, threads) in new[] { ("a", "2"), ("b", "2"), ("one-thread", "1") })
            {
                var output = Path.Combine(root, run);
                var code = await MetaHost.RunAsync(
                    ["sine-maml", "--iterations", "40", "--threads", threads, "--parallelism", "tasks", "--pretrain-iterations", "2",
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
            Assert.Equal(losses[2], losses[0]);          // the MLP kernel's split is bit for bit the one-thread run
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static double MaxAbs(Tensor a, Tensor b) => (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().ToDouble();
}
