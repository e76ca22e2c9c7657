using System.Diagnostics;
using System.Globalization;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using Meta.Training;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Benchmarks;

/// <summary>
/// What watching a run costs: the standard configuration (25 tasks, K = 10, S = 1, second order) in alternating timed
/// blocks without progress and with it (the trainer's per-iteration <see cref="PhaseProgress.Report"/> and, when stdout is
/// a terminal, the live display's render thread). Run it once redirected and once under a terminal (tmux, script).
/// Usage: dotnet run -c Release --project Meta.Benchmarks -- progress [--iterations 1000] [--pairs 7]
/// </summary>
internal static class ProgressBenchmark
{
    public static int Run(int iterations, int pairs)
    {
        TorchRuntime.UseThreads(1);
        using var seeds = new RunSeeds(1);
        var network = Mlp.ForSinusoid();
        var family = new SinusoidFamily(SinusoidRanges.Default);
        using var theta = network.Initialize(WeightInit.Finn, seeds.Weights);
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        using var adam = new Adam(theta, 0.001);
        double Step()
        {
            using var scope = NewDisposeScope();
            var step = maml.MetaStep(theta, family.Episode(family.Sample(25, seeds.Tasks), 10, 10, seeds.Tasks));
            adam.Step(step.Gradient);
            return step.MetaLoss.ToDouble();
        }
        for (var i = 0; i < 300; i++) Step();

        var (without, with) = (new List<double>(), new List<double>());
        for (var pair = 0; pair < pairs; pair++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++) Step();
            without.Add(iterations / clock.Elapsed.TotalSeconds);

            using var progress = new RunProgress(NullLogger.Instance);
            var phase = progress.Begin("training", iterations, "it");
            clock.Restart();
            for (var i = 0; i < iterations; i++) phase.Report(i + 1, Step());
            with.Add(iterations / clock.Elapsed.TotalSeconds);
            progress.Stop();
        }
        // Load-independent parts: the trainer's per-iteration call, and the CPU the display thread takes per second.
        const int calls = 10_000_000;
        var idleCpu = IdleCpu(TimeSpan.FromSeconds(10));   // the runtime's own background work, no display
        var probe = new RunProgress(NullLogger.Instance);
        var counter = probe.Begin("probe", calls, "it");
        var callClock = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) counter.Report(i + 1, 0.5);
        var nanosecondsPerCall = callClock.Elapsed.TotalMilliseconds * 1e6 / calls;
        Thread.Sleep(2000);
        var displayCpu = IdleCpu(TimeSpan.FromSeconds(10)) - idleCpu;   // only the display thread (if any) works now
        probe.Stop();

        without.Sort();
        with.Sort();
        var (a, b) = (without[pairs / 2], with[pairs / 2]);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| progress ({(RunProgress.Live ? "live display on a terminal" : "plain, redirected")}) | without: {a:0} it/s | with: {b:0} it/s | {100 * (b - a) / a:+0.0;-0.0} % |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"blocks without: {string.Join(", ", without.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))}; with: {string.Join(", ", with.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per-iteration Report: {nanosecondsPerCall:0.0} ns; CPU of the display thread: {displayCpu:0.0} ms per second (idle process: {idleCpu:0.0})"));
        return 0;
    }

    /// <summary>Process CPU milliseconds per second of wall time while the calling thread sleeps.</summary>
    private static double IdleCpu(TimeSpan span)
    {
        using var self = Process.GetCurrentProcess();
        var before = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Thread.Sleep(span);
        self.Refresh();
        return (self.TotalProcessorTime - before).TotalMilliseconds / clock.Elapsed.TotalSeconds;
    }
}
