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
/// Peak memory of second-order MAML against iMAML (and first-order MAML for reference) as the number of inner steps S
/// grows. A process's peak resident set (VmHWM, <see cref="Process.PeakWorkingSet64"/>) never goes down, so every
/// configuration runs in a fresh child process (<c>memory-one &lt;algorithm&gt; &lt;S&gt; &lt;width&gt;</c>): it sets everything up,
/// reads its resident set, runs a few meta-iterations, and reports peak − that baseline, i.e. what the meta-steps added.
/// libtorch's CPU allocator returns tensors to malloc, so the high-water mark sees the largest live autograd graph.
/// </summary>
internal static class MemoryBenchmark
{
    private const int Tasks = 25;
    private const int Shots = 10;
    private const int Iterations = 5;
    private static readonly int[] StepCounts = [1, 5, 10, 20];
    private static readonly string[] Algorithms = ["maml", "imaml", "fomaml"];
    private static readonly int[] Widths = [40, 256];

    /// <summary>Entry point for <c>memory</c> (the table) and <c>memory-one</c> (one child measurement).</summary>
    public static int Run(string[] args)
    {
        if (args[0] == "memory-one") return RunOne(args[1], ParseInt(args[2]), ParseInt(args[3]));

        Console.WriteLine($"Peak RSS growth over {Iterations} meta-iterations: {Tasks} tasks, K = {Shots} support + {Shots} query, float32, 1 libtorch thread,");
        Console.WriteLine("inner rate 0.01; iMAML with λ = 5 and 5 conjugate-gradient steps. One fresh process per cell; baseline = RSS after set-up.");
        foreach (var width in Widths)
        {
            var p = new Mlp(1, width, width, 1).Layout.Count;
            Console.WriteLine();
            Console.WriteLine($"1-{width}-{width}-1 MLP (P = {p}):");
            Console.WriteLine();
            Console.WriteLine("| S | MAML 2nd order (MB) | iMAML (MB) | FOMAML (MB) | MAML ms/it | iMAML ms/it | FOMAML ms/it |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var steps in StepCounts)
            {
                var cells = Algorithms.Select(a => Child(a, steps, width)).ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {steps} | {cells[0].GrowthMb:0.0} | {cells[1].GrowthMb:0.0} | {cells[2].GrowthMb:0.0} | {cells[0].Ms:0.0} | {cells[1].Ms:0.0} | {cells[2].Ms:0.0} |"));
            }
        }
        return 0;
    }

    private static (double GrowthMb, double Ms) Child(string algorithm, int steps, int width)
    {
        var self = typeof(MemoryBenchmark).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") info.ArgumentList.Add(self);   // running as `dotnet x.dll`
        foreach (var a in new[] { "memory-one", algorithm, steps.ToString(CultureInfo.InvariantCulture), width.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        using var child = Process.Start(info) ?? throw new InvalidOperationException("could not start the measurement process");
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"memory-one {algorithm} {steps} {width} failed with exit code {child.ExitCode}");
        var fields = output.Trim().Split(' ');
        return (double.Parse(fields[0], CultureInfo.InvariantCulture), double.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    private static int RunOne(string name, int steps, int width)
    {
        TorchRuntime.UseThreads(1);
        using var g = new Generator(1);
        var network = new Mlp(1, width, width, 1);
        var family = new SinusoidFamily(SinusoidRanges.Default);
        IMetaAlgorithm algorithm = name switch
        {
            "maml" => new Maml(network, steps, 0.01, firstOrder: false),
            "fomaml" => new Maml(network, steps, 0.01, firstOrder: true),
            "imaml" => new ImplicitMaml(network, new ImplicitMamlOptions { Solver = ProximalSolver.GradientDescent, InnerSteps = steps, InnerLr = 0.01, Lambda = 5, CgSteps = 5 }),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "maml, fomaml or imaml"),
        };
        using var theta = network.Initialize(WeightInit.Finn, g);
        using var meta = algorithm.InitialMetaParameters(theta);
        using var adam = new Adam(meta, 0.001);
        var episodes = Enumerable.Range(0, Iterations).Select(_ => family.Episode(family.Sample(Tasks, g), Shots, Shots, g)).ToList();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var baseline = self.WorkingSet64;
        var clock = Stopwatch.StartNew();
        foreach (var episode in episodes)
        {
            using var scope = NewDisposeScope();
            var step = algorithm.MetaStep(meta, episode);
            adam.Step(step.Gradient);
            _ = step.MetaLoss.ToSingle();
        }
        var ms = clock.Elapsed.TotalMilliseconds / Iterations;
        self.Refresh();
        var growth = (self.PeakWorkingSet64 - baseline) / (1024.0 * 1024.0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{growth:0.00} {ms:0.00}"));
        return 0;
    }

    private static int ParseInt(string text) => int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
}
