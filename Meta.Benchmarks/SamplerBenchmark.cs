using System.Diagnostics;
using System.Globalization;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Sampling;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Benchmarks;

/// <summary>
/// Cost of the task samplers at seed 000's 3-D grid (49 × 36 × 7 = 12,348 cells), against the meta-iteration they serve.
/// Usage: dotnet run -c Release --project Meta.Benchmarks -- sampler [--draws 5000] [--iterations 300] [--threads 1]
/// 1. Draw(25) + Observe(25 losses) per regime: 2,000 warm-up calls, then the median of 5 blocks of --draws calls.
/// 2. Whole meta-iterations (3-D sinusoids, 25 tasks, K = 10, S = 1, second order, Adam): tasks from the family's own
///    uniform Sample, and from each sampler (Draw → EpisodeFor → MetaStep with its weights → Observe); 100 warm-up
///    iterations, then the median of 5 blocks of --iterations.
/// </summary>
internal static class SamplerBenchmark
{
    private const int Batch = 25;

    public static int Run(string[] args)
    {
        var draws = ReadInt(args, "--draws", 5000);
        var iterations = ReadInt(args, "--iterations", 300);
        var threads = ReadInt(args, "--threads", 1);
        if (draws < 0 || iterations < 0 || threads < 0) return 2;
        TorchRuntime.UseThreads(threads);
        var family = new Sinusoid3DFamily(Sinusoid3DRanges.Default);
        var kinds = Enum.GetValues<SamplerKind>();

        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        Console.WriteLine($"grid: {string.Join(" × ", family.DefaultQueueBlocks.Select((b, d) => PriorityQueueOptions.CellCount(family.Parameters[d], b)))} cells");
        Console.WriteLine();
        Console.WriteLine("| regime | Draw(25) µs | Draw(25) + Observe µs |");
        Console.WriteLine("|---|---:|---:|");
        var samplerCost = new Dictionary<SamplerKind, double>();
        using var losses = rand(Batch);
        foreach (var kind in kinds)
        {
            var sampler = TaskSamplers.Create(family, new PriorityQueueOptions { Kind = kind }, 1);
            var drawOnly = Median(draws, 2000, () =>
            {
                using var scope = NewDisposeScope();
                sampler.Draw(Batch);
            });
            var both = Median(draws, 2000, () =>
            {
                using var scope = NewDisposeScope();
                sampler.Observe(sampler.Draw(Batch), losses);
            });
            samplerCost[kind] = both;
            Console.WriteLine(Invariant($"| {Meta.Hosting.OptionNames.Kebab(kind.ToString())} | {drawOnly * 1e6:0.0} | {both * 1e6:0.0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("| tasks from | ms / meta-iteration | Draw + Observe as % of the baseline iteration |");
        Console.WriteLine("|---|---:|---:|");
        var network = Mlp.ForSinusoid();
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        double baseline;
        using (var seeds = new RunSeeds(1))
        using (var theta = network.Initialize(WeightInit.Finn, seeds.Weights))
        using (var adam = new Adam(theta, 0.001))
        {
            baseline = Median(iterations, 100, () =>
            {
                using var scope = NewDisposeScope();
                var tasks = family.Sample(Batch, seeds.Tasks);
                var step = maml.MetaStep(theta, family.Episode(tasks, 10, 10, seeds.Tasks));
                adam.Step(step.Gradient);
                _ = step.MetaLoss.ToSingle();
            });
        }
        Console.WriteLine(Invariant($"| family.Sample (uniform, no sampler) | {baseline * 1e3:0.000} | – |"));
        foreach (var kind in kinds)
        {
            using var seeds = new RunSeeds(1);
            using var theta = network.Initialize(WeightInit.Finn, seeds.Weights);
            using var adam = new Adam(theta, 0.001);
            var sampler = TaskSamplers.Create(family, new PriorityQueueOptions { Kind = kind }, seeds.Sampler);
            var time = Median(iterations, 100, () =>
            {
                using var scope = NewDisposeScope();
                var draw = sampler.Draw(Batch);
                var step = maml.MetaStep(theta, family.EpisodeFor(draw.Parameters, 10, 10, seeds.Tasks), draw.Weights);
                adam.Step(step.Gradient);
                sampler.Observe(draw, step.TaskLosses);
                _ = step.MetaLoss.ToSingle();
            });
            Console.WriteLine(Invariant($"| {Meta.Hosting.OptionNames.Kebab(kind.ToString())} sampler | {time * 1e3:0.000} | {100 * samplerCost[kind] / baseline:0.00} % |"));
        }
        return 0;
    }

    /// <summary>Median seconds per call over 5 blocks of <paramref name="calls"/>, after <paramref name="warmup"/> calls.</summary>
    private static double Median(int calls, int warmup, Action action)
    {
        for (var i = 0; i < warmup; i++) action();
        var times = new List<double>();
        for (var block = 0; block < 5; block++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < calls; i++) action();
            times.Add(clock.Elapsed.TotalSeconds / calls);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static int ReadInt(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        if (i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
        Console.Error.WriteLine($"error: {name} expects a whole number > 0");
        return -1;
    }
}
