using System.Diagnostics;
using System.Globalization;
using Meta;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Benchmarks;

/// <summary>
/// The MAML paper's sinusoid run (Finn et al. 2017, §5.1; the experiment sine-maml with --iterations 70000): 1-40-40-1
/// ReLU MLP, Finn initialisation, 25 tasks, K = 10, one inner step at α = 0.01, second order, Adam at 1e-3, float32, one
/// thread, seed 1 — the generated trainer's loop step by step (draw the episode, meta-step, the non-finite check and
/// gradient norm, Adam, and the bookkeeping of ExperimentRun.Record: reading the loss, a metrics.csv and a
/// diagnostics.csv line, a progress line every --log-every, a checkpoint every --checkpoint-every), each phase timed.
/// Reports the training seconds, it/s (wall clock and process CPU), and per phase µs and tensors per iteration.
/// Usage: dotnet run -c Release --project Meta.Benchmarks -- paper [--iterations 70000] [--log-every 1000]
/// [--checkpoint-every 1000] [--path analytic|passes|autograd]
/// </summary>
internal static class PaperBenchmark
{
    private static readonly string[] Phases = ["sampling", "meta-step", "checks (loss, gradient norm)", "optimiser (Adam)", "bookkeeping (record, checkpoint, scope)"];

    public static int Run(string[] args)
    {
        var iterations = ReadInt(args, "--iterations", 70_000);
        var logEvery = ReadInt(args, "--log-every", ExperimentDefaults.LogEvery);
        var checkpointEvery = ReadInt(args, "--checkpoint-every", ExperimentDefaults.CheckpointEvery);
        var pathIndex = Array.IndexOf(args, "--path");
        var path = pathIndex >= 0 && pathIndex + 1 < args.Length ? args[pathIndex + 1] : "analytic";
        if (iterations < 1 || logEvery < 1 || checkpointEvery < 1 || path is not ("analytic" or "passes" or "autograd"))
        {
            Console.Error.WriteLine("error: paper takes --iterations N, --log-every N, --checkpoint-every N (each ≥ 1) and --path analytic|passes|autograd");
            return 2;
        }
        TorchRuntime.UseThreads(1);
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, load average {LoadAverage()}; native heap: {TorchRuntime.Allocator}");
        Console.WriteLine($"the MAML paper's sinusoid run: {iterations} iterations, 25 tasks, K = 10, S = 1, second order, Adam 1e-3, seed 1, path {path}");

        using var seeds = new RunSeeds(1);
        var family = new SinusoidFamily(SinusoidRanges.Default);
        var mlp = Mlp.ForSinusoid();
        IFunctionalNetwork network = path switch { "passes" => new PassesOnly(mlp), "autograd" => new AutogradOnly(mlp), _ => mlp };
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        using var theta = mlp.Initialize(WeightInit.Finn, seeds.Weights);
        using var meta = maml.InitialMetaParameters(theta);
        using var adam = new Adam(meta, 0.001);
        var folder = Directory.CreateTempSubdirectory("meta-paper-");
        using var metrics = new StreamWriter(Path.Combine(folder.FullName, "metrics.csv"));
        using var diagnostics = new StreamWriter(Path.Combine(folder.FullName, "diagnostics.csv"));
        metrics.WriteLine("iteration,meta_loss,elapsed_s");
        diagnostics.WriteLine("iteration,gradient_norm");
        var store = new Meta.Checkpoints.CheckpointStore(folder.FullName, ExperimentDefaults.KeepCheckpoints);
        (string, Meta.Checkpoints.ICheckpointable)[] state = [("meta.", new Meta.Checkpoints.TensorState(meta)), ("optimiser.", adam), ("seeds.", seeds)];

        var ticks = new long[Phases.Length];
        var tensors = new long[Phases.Length];
        var losses = new List<double>(iterations);
        var (window, windowStart) = (0.0, 0);
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            var mark = Mark();
            var scope = NewDisposeScope();
            var episode = family.Episode(family.Sample(25, seeds.Tasks), 10, 10, seeds.Tasks);
            mark = Lap(0, mark);
            var step = maml.MetaStep(meta, episode);
            mark = Lap(1, mark);
            var loss = step.MetaLoss.Scalar();
            var norm = GradientClip.Norm(step.Gradient);
            if (!double.IsFinite(loss) || !double.IsFinite(norm)) throw new InvalidOperationException($"iteration {iteration + 1}: non-finite meta-step");
            mark = Lap(2, mark);
            adam.Step(step.Gradient);
            mark = Lap(3, mark);
            loss = step.MetaLoss.Scalar();
            losses.Add(loss);
            metrics.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{iteration + 1},{loss:R},{clock.Elapsed.TotalSeconds:0.###}"));
            diagnostics.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{iteration + 1},{norm:R}"));
            window += loss;
            if ((iteration + 1) % logEvery == 0 || iteration + 1 == iterations)
            {
                if ((iteration + 1) % Math.Max(logEvery, iterations / 10) == 0 || iteration + 1 == iterations)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  iteration {iteration + 1}: mean meta-loss of the last {iteration + 1 - windowStart} {window / (iteration + 1 - windowStart):0.0000}, {clock.Elapsed.TotalSeconds:0.0} s"));
                (window, windowStart) = (0.0, iteration + 1);
            }
            if ((iteration + 1) % checkpointEvery == 0)
            {
                metrics.Flush();
                diagnostics.Flush();
                store.Save(new Meta.Checkpoints.CheckpointManifest("paper", maml.Name, iteration + 1, "benchmark",
                    Meta.Checkpoints.CheckpointManifest.CurrentVersions(), DateTimeOffset.UtcNow), state);
            }
            scope.Dispose();
            Lap(4, mark);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        folder.Delete(recursive: true);

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {seconds:0.0} s for {iterations} iterations, {iterations / seconds:0} it/s, {1e6 * seconds / iterations:0} µs per iteration; process CPU time {cpuSeconds:0.0} s ({iterations / cpuSeconds:0} it/s of CPU); load average {LoadAverage()}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final meta-loss (mean of the last 1,000): {losses.Skip(Math.Max(0, losses.Count - 1000)).Average():0.0000}"));
        Console.WriteLine();
        Console.WriteLine("| phase | µs / iteration | share | tensors / iteration |");
        Console.WriteLine("|---|---:|---:|---:|");
        var total = ticks.Sum();
        for (var p = 0; p < Phases.Length; p++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Phases[p]} | {1e6 * ticks[p] / Stopwatch.Frequency / iterations:0.0} | {100.0 * ticks[p] / total:0}% | {(double)tensors[p] / iterations:0.#} |"));
        return 0;

        (long Time, long Tensors) Mark() => (Stopwatch.GetTimestamp(), Created());

        (long Time, long Tensors) Lap(int phase, (long Time, long Tensors) since)
        {
            var now = Mark();
            ticks[phase] += now.Time - since.Time;
            tensors[phase] += now.Tensors - since.Tensors;
            return now;
        }
    }

    private static long Created() => DisposeScopeManager.Statistics.CreatedInScopeCount + DisposeScopeManager.Statistics.CreatedOutsideScopeCount;

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static int ReadInt(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        return i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1;
    }

    /// <summary>The MLP's analytic passes without its whole-step kernel: MAML composes the passes.</summary>
    internal sealed class PassesOnly(Mlp inner) : IAnalyticNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
        public bool SupportsAnalytic(ITaskLoss loss) => inner.SupportsAnalytic(loss);
        public IAnalyticPass AnalyticPass(Tensor weights, Tensor input, Tensor target, ITaskLoss loss) => inner.AnalyticPass(weights, input, target, loss);
    }

    /// <summary>The MLP without its analytic capability: MAML takes the autograd path.</summary>
    internal sealed class AutogradOnly(IFunctionalNetwork inner) : IFunctionalNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
    }
}
