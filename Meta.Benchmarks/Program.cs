using System.Diagnostics;
using System.Globalization;
using Meta;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

// Meta-iterations per second of task-batched MAML on sinusoids (1-40-40-1 MLP, Adam, float32, one libtorch thread).
// Each configuration: 300 warm-up iterations, then the median of --blocks (5) timed blocks of --iterations each.
// Usage: dotnet run -c Release --project Meta.Benchmarks [-- --iterations 1000 --blocks 5 --threads 1 --path both|autograd|analytic --config 1-4 --task-threads 2]
// --task-threads N (default 2; 1 leaves it out) adds the analytic path with task-parallel meta-steps over N threads
// (--parallelism tasks), its blocks alternating with the one-thread blocks, and its speed-up over the one-thread analytic rate.
// Other modes: `-- sampler [...]` times the task samplers (SamplerBenchmark.cs).
// Every mode runs on the native heap a Meta program gets (TorchRuntime.Allocator, printed by each mode's header).
TorchRuntime.RestartWithKeptHeap(args);
if (args.Length > 0 && args[0] == "sampler") return Meta.Benchmarks.SamplerBenchmark.Run(args[1..]);
// The MAML paper's 70,000-iteration sinusoid run, its loop's phases timed (PaperBenchmark.cs): -- paper [--iterations 70000]
if (args.Length > 0 && args[0] == "paper") return Meta.Benchmarks.PaperBenchmark.Run(args[1..]);
// Peak memory of second-order MAML vs iMAML over inner steps: dotnet run -c Release --project Meta.Benchmarks -- memory
if (args.Length > 0 && args[0] is "memory" or "memory-one") return Meta.Benchmarks.MemoryBenchmark.Run(args);
// Image modes (ImageBenchmarks.cs): -- conv4 | glyphs-train | glyphs-sheet [options]
if (args.Length > 0 && Meta.Benchmarks.ImageBenchmarks.Modes.Contains(args[0]))
{
    try
    {
        return Meta.Benchmarks.ImageBenchmarks.Run(args);
    }
    catch (Exception e) when (e is ArgumentException or Meta.Tasks.Images.DatasetException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
}

// What the cores give work that shares nothing (CoresBenchmark.cs): -- cores [--iterations 4000] [--rounds 5] [--alone]
if (args.Length > 0 && args[0] == "cores") return Meta.Benchmarks.CoresBenchmark.Run(ReadInt(args, "--iterations", 4000), ReadInt(args, "--rounds", 5), args.Contains("--alone"));

// How far float32 training drifts between the two paths: -- drift [--iterations N] (same seeds, same tasks).
if (args.Length > 0 && args[0] == "drift") return Drift.Run(ReadInt(args, "--iterations", 1000));

var iterations = ReadInt(args, "--iterations", 1000);
// What watching costs (ProgressBenchmark.cs): -- progress [--iterations N] [--pairs N]
if (args.Length > 0 && args[0] == "progress") return Meta.Benchmarks.ProgressBenchmark.Run(iterations, ReadInt(args, "--pairs", 7));
var threads = ReadInt(args, "--threads", 1);
var pathIndex = Array.IndexOf(args, "--path");
var path = pathIndex >= 0 && pathIndex + 1 < args.Length ? args[pathIndex + 1] : "both";
string[] paths = path switch
{
    "both" => ["autograd", "analytic"],
    "all" => ["autograd", "passes", "analytic"],
    _ => path.Split(','),
};
if (paths.Any(p => p is not ("autograd" or "passes" or "analytic")))
{
    Console.Error.WriteLine($"error: --path expects both, all, or a comma-separated list of autograd, passes and analytic, got '{path}'");
    return 2;
}
var only = ReadInt(args, "--config", int.MaxValue);
var taskThreads = paths.Contains("analytic") ? ReadInt(args, "--task-threads", 2) : 1;
var blocks = ReadInt(args, "--blocks", 5);
TorchRuntime.UseThreads(threads);

(string Name, int Tasks, int Shots, int Steps, bool FirstOrder)[] configurations =
[
    ("standard: 25 tasks, K = 10, S = 1, second order", 25, 10, 1, false),
    ("25 tasks, K = 10, S = 5, second order", 25, 10, 5, false),
    ("25 tasks, K = 10, S = 1, first order", 25, 10, 1, true),
    ("25 tasks, K = 10, S = 5, first order", 25, 10, 5, true),
];
if (only != int.MaxValue && only > configurations.Length)
{
    Console.Error.WriteLine($"error: --config expects 1 to {configurations.Length}");
    return 2;
}

// Paths through the same Maml: "autograd" hides the MLP's IAnalyticNetwork capability (what any network without it
// runs, and what every MAML step ran before the capability existed); "passes" hides only its whole-step kernel, so MAML
// composes the analytic passes (libtorch calls); "analytic" is the MLP itself (the managed kernel, Mlp.Kernel.cs). With
// several paths (--path both, the default: autograd and analytic; --path all; or a list such as passes,analytic) their
// timed blocks alternate, so that load drift on a shared machine hits them alike.
var parallelColumns = taskThreads > 1
    ? ($" analytic, {taskThreads} task threads it/s | {taskThreads}-thread speed-up |{(taskThreads == 2 ? " two-core ceiling |" : "")}", taskThreads == 2 ? "---:|---:|---:|" : "---:|---:|")
    : ("", "");
Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, load average {LoadAverage()}; native heap: {TorchRuntime.Allocator}");
Console.WriteLine($"median of {blocks} blocks of {iterations} meta-iterations after 300 warm-up iterations; tensors = TorchSharp tensors created per iteration (≈ libtorch calls that return a tensor)");
if (taskThreads > 1) Console.WriteLine("task-thread speed-up: the median over blocks of (task-threaded block rate ÷ the one-thread analytic block run just before it), so that drifts of the machine's speed cancel");
if (taskThreads == 2) Console.WriteLine("two-core ceiling: the median over blocks of what this machine's two cores gave the kernel's work alone at that moment (the 'cores' mode in each block's rotation: private arrays, no libtorch, nothing shared; two threads together ÷ one thread)");
Console.WriteLine();
Console.WriteLine(paths.Length > 1
    ? $"| configuration | {string.Join(" | ", paths.Select(p => p + " it/s"))} | {string.Join(" | ", paths.Skip(1).Select(p => p + " ÷ " + paths[0]))} | {string.Join(" | ", paths.Select(p => p + " tensors/it"))} | peak RSS (MB) |{parallelColumns.Item1}\n|---|{string.Concat(Enumerable.Repeat("---:|", 3 * paths.Length))}{parallelColumns.Item2}"
    : $"| configuration | {path} it/s | ms / iteration | tensors/it | peak RSS (MB) |{parallelColumns.Item1}\n|---|---:|---:|---:|---:|{parallelColumns.Item2}");
for (var ci = 0; ci < configurations.Length; ci++)
{
    if (only != int.MaxValue && ci + 1 != only) continue;
    var c = configurations[ci];
    var runs = paths.Select(p => new Run(p, c.Tasks, c.Shots, c.Steps, c.FirstOrder)).ToArray();
    // The task-parallel run: the same seeds and configuration as the one-thread analytic run, its blocks in the same rotation.
    using var parallel = taskThreads > 1 ? new Run("analytic", c.Tasks, c.Shots, c.Steps, c.FirstOrder, taskThreads) : null;
    Run[] timed = parallel is null ? runs : [.. runs, parallel];
    foreach (var run in timed) run.WarmUp(300);
    var ceilings = new List<double>();
    for (var block = 0; block < blocks; block++)
    {
        foreach (var run in timed) run.Block(iterations);
        if (taskThreads != 2) continue;
        var (one, pair) = Meta.Benchmarks.CoresBenchmark.Round(iterations, c.Steps, c.FirstOrder);
        ceilings.Add((pair[0] + pair[1]) / one);
    }
    var peak = PeakRssMegabytes();
    var analyticRun = runs[Array.IndexOf(paths, "analytic") is var a and >= 0 ? a : ^1];
    var parallelCells = parallel is null ? "" : string.Create(CultureInfo.InvariantCulture, $" {parallel.Median:0} | {Run.MedianRatio(parallel, analyticRun):0.00}× |")
        + (ceilings.Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" {ceilings.Order().ElementAt(ceilings.Count / 2):0.00}× |"));
    Console.WriteLine((runs.Length > 1
        ? string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {string.Join(" | ", runs.Select(r => r.Median.ToString("0", CultureInfo.InvariantCulture)))} | {string.Join(" | ", runs.Skip(1).Select(r => (r.Median / runs[0].Median).ToString("0.00", CultureInfo.InvariantCulture) + "×"))} | {string.Join(" | ", runs.Select(r => r.TensorsPerIteration))} | {peak:0} |")
        : string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {runs[0].Median:0} | {1000 / runs[0].Median:0.00} | {runs[0].TensorsPerIteration} | {peak:0} |")) + parallelCells);
    foreach (var run in runs) run.Dispose();
}
return 0;

static string LoadAverage()
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

// VmHWM: the process's peak resident set so far (Linux); the working set elsewhere.
static double PeakRssMegabytes()
{
    try
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is not null) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
    catch (IOException)
    {
    }
    return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
}

static int ReadInt(string[] args, string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    if (i < 0) return fallback;
    if (i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
    Console.Error.WriteLine($"error: {name} expects a whole number > 0");
    Environment.Exit(2);
    return fallback;
}

/// <summary>One MAML configuration on one path, with its own seeds, θ and Adam state.</summary>
internal sealed class Run : IDisposable
{
    private readonly RunSeeds _seeds = new(1);
    private readonly SinusoidFamily _family = new(SinusoidRanges.Default);
    private readonly Tensor _theta;
    private readonly Maml _maml;
    private readonly Adam _adam;
    private readonly int _tasks, _shots;
    private readonly List<double> _rates = [];
    private readonly TaskParallel _parallel;
    private readonly EpisodeLookahead _lookahead;

    /// <summary><paramref name="taskThreads"/> &gt; 1 splits each meta-step's tasks over that many threads (--parallelism tasks).</summary>
    public Run(string path, int tasks, int shots, int steps, bool firstOrder, int taskThreads = 1)
    {
        _parallel = new TaskParallel(taskThreads);
        _lookahead = new EpisodeLookahead(_seeds);
        var network = Mlp.ForSinusoid();
        _theta = network.Initialize(WeightInit.Finn, _seeds.Weights);
        IFunctionalNetwork chosen = path switch
        {
            "autograd" => new AutogradOnly(network),
            "passes" => new Meta.Benchmarks.PaperBenchmark.PassesOnly(network),
            _ => network,
        };
        _maml = new Maml(chosen, steps, 0.01, firstOrder);
        _adam = new Adam(_theta, 0.001);
        (_tasks, _shots) = (tasks, shots);
    }

    /// <summary>The median over blocks of a's block rate ÷ b's block rate in the same rotation.</summary>
    public static double MedianRatio(Run a, Run b) => a._rates.Zip(b._rates, (x, y) => x / y).Order().ElementAt(a._rates.Count / 2);

    public double Median => _rates.Order().ElementAt(_rates.Count / 2);

    public long TensorsPerIteration { get; private set; }

    public void WarmUp(int iterations)
    {
        for (var i = 0; i < iterations; i++) Step();
        var before = DisposeScopeManager.Statistics.CreatedInScopeCount + DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
        Step();
        TensorsPerIteration = DisposeScopeManager.Statistics.CreatedInScopeCount + DisposeScopeManager.Statistics.CreatedOutsideScopeCount - before;
    }

    public Tensor Theta => _theta;

    public double LastLoss { get; private set; }

    public void Block(int iterations)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) Step();
        _rates.Add(iterations / clock.Elapsed.TotalSeconds);
    }

    public void Step()
    {
        using var scope = NewDisposeScope();
        // As the trainer does: with task threads, the next episode is drawn while the workers start on this step.
        var episode = _lookahead.Take() ?? Draw();
        var step = _parallel.MetaStep(_maml, _theta, episode, alongside: _lookahead.Ahead(Draw));
        _adam.Step(step.Gradient);
        LastLoss = step.MetaLoss.Scalar(); // what a trainer reads every iteration
    }

    private Episode Draw() => _family.Episode(_family.Sample(_tasks, _seeds.Tasks), _shots, _shots, _seeds.Tasks);

    public void Dispose()
    {
        _lookahead.Dispose();
        _parallel.Dispose();
        _adam.Dispose();
        _theta.Dispose();
        _seeds.Dispose();
    }

    /// <summary>The MLP without its analytic capability: MAML takes the autograd path.</summary>
    private sealed class AutogradOnly(IFunctionalNetwork inner) : IFunctionalNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) => inner.Forward(weights, input);
    }
}

/// <summary>Trains the standard configuration on both paths from the same seed and reports how far θ drifted apart.</summary>
internal static class Drift
{
    public static int Run(int iterations)
    {
        TorchRuntime.UseThreads(1);
        Console.WriteLine("| configuration | iterations | max abs θ difference | max abs θ | final meta-loss autograd | final meta-loss analytic |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (steps, firstOrder) in new[] { (1, false), (5, false), (1, true) })
        {
            using var autograd = new Run("autograd", 25, 10, steps, firstOrder);
            using var analytic = new Run("analytic", 25, 10, steps, firstOrder);
            for (var i = 0; i < iterations; i++)
            {
                autograd.Step();
                analytic.Step();
            }
            using var difference = (autograd.Theta - analytic.Theta).abs().max();
            using var size = autograd.Theta.abs().max();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| S = {steps}, {(firstOrder ? "first" : "second")} order | {iterations} | {difference.ToSingle():E2} | {size.ToSingle():0.000} | {autograd.LastLoss:0.0000} | {analytic.LastLoss:0.0000} |"));
        }
        return 0;
    }
}
