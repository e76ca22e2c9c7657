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
// Each configuration: 300 warm-up iterations, then the median of 5 timed blocks of --iterations each.
// Usage: dotnet run -c Release --project Meta.Benchmarks [-- --iterations 1000 --threads 1]
// Other modes: `-- sampler [...]` times the task samplers (SamplerBenchmark.cs).
if (args.Length > 0 && args[0] == "sampler") return Meta.Benchmarks.SamplerBenchmark.Run(args[1..]);
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

var iterations = ReadInt(args, "--iterations", 1000);
// What watching costs (ProgressBenchmark.cs): -- progress [--iterations N] [--pairs N]
if (args.Length > 0 && args[0] == "progress") return Meta.Benchmarks.ProgressBenchmark.Run(iterations, ReadInt(args, "--pairs", 7));
var threads = ReadInt(args, "--threads", 1);
TorchRuntime.UseThreads(threads);

(string Name, int Tasks, int Shots, int Steps, bool FirstOrder)[] configurations =
[
    ("standard: 25 tasks, K = 10, S = 1, second order", 25, 10, 1, false),
    ("25 tasks, K = 10, S = 5, second order", 25, 10, 5, false),
    ("25 tasks, K = 10, S = 1, first order", 25, 10, 1, true),
    ("25 tasks, K = 10, S = 5, first order", 25, 10, 5, true),
];

Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
Console.WriteLine();
Console.WriteLine("| configuration | meta-iterations/s | ms / iteration | RSS after (MB) |");
Console.WriteLine("|---|---:|---:|---:|");
foreach (var c in configurations)
{
    var rates = new List<double>();
    using var seeds = new RunSeeds(1);
    var network = Mlp.ForSinusoid();
    var family = new SinusoidFamily(SinusoidRanges.Default);
    using var theta = network.Initialize(WeightInit.Finn, seeds.Weights);
    var maml = new Maml(network, c.Steps, 0.01, c.FirstOrder);
    using var adam = new Adam(theta, 0.001);
    void Step()
    {
        using var scope = NewDisposeScope();
        var tasks = family.Sample(c.Tasks, seeds.Tasks);
        var step = maml.MetaStep(theta, family.Episode(tasks, c.Shots, c.Shots, seeds.Tasks));
        adam.Step(step.Gradient);
        _ = step.MetaLoss.ToSingle(); // what a trainer reads every iteration
    }
    for (var i = 0; i < 300; i++) Step();
    for (var block = 0; block < 5; block++)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) Step();
        rates.Add(iterations / clock.Elapsed.TotalSeconds);
    }
    rates.Sort();
    var median = rates[rates.Count / 2];
    var rss = Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {median:0} | {1000 / median:0.00} | {rss:0} |"));
}
return 0;

static int ReadInt(string[] args, string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    if (i < 0) return fallback;
    if (i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
    Console.Error.WriteLine($"error: {name} expects a whole number > 0");
    Environment.Exit(2);
    return fallback;
}
