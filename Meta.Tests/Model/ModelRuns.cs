using System.Diagnostics.Metrics;
using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Functional;
using Meta.Hosting;
using Meta.Telemetry;
using Meta.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace Meta.Tests.Model;

/// <summary>
/// Short runs trained in this process through <see cref="ExperimentRun"/> with <see cref="RunSettings.Components"/> set,
/// as the generated trainer does: the run folder gets model.json and checkpoints like a real run's.
/// </summary>
internal static class ModelRuns
{
    /// <summary>Trains <paramref name="family"/> with <paramref name="algorithm"/> for <paramref name="iterations"/> and returns the run folder.</summary>
    public static string Train(string root, string experiment, ITaskFamily family, INetworkDefinition network, IAlgorithmDefinition algorithm,
        int iterations, int metaBatch, double metaLr = 1e-3, WeightInit init = WeightInit.Finn, long seed = 1)
    {
        family.Prepare(new FamilyContext(seed));
        var shape = family.Shape;
        var net = network.Create(new NetworkContext(shape, algorithm.NetworkStepSets));
        using var seeds = new RunSeeds(seed);
        var meta_learner = algorithm.Create(new AlgorithmContext(net, family.Loss, seeds));
        using var theta = net.Initialize(init, seeds.Weights);
        using var meta = meta_learner.InitialMetaParameters(theta);
        using var optimiser = MetaOptimizers.Create(MetaOptimizerKind.Adam, meta, metaLr);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var descriptor = new ExperimentDescriptor(experiment, "A short run of the model tests.", meta_learner.Name, [], (_, _) => { });
        using var run = new ExperimentRun(descriptor, new FixedOptions(), new MetaTrainingMetrics(services.GetRequiredService<IMeterFactory>()),
            NullLogger<ExperimentRun>.Instance);
        var settings = new RunSettings(root, meta_learner.Name, iterations, Math.Max(1, iterations / 2))
        {
            Components = new RunComponents(family, network, algorithm, shape),
        };
        run.Begin(settings, meta, [("meta.", new TensorState(meta)), ("optimiser.", (ICheckpointable)optimiser), ("seeds.", seeds)]);
        for (var i = 0; i < iterations; i++)
        {
            var started = ExperimentRun.Timestamp();
            using var scope = NewDisposeScope();
            var step = meta_learner.MetaStep(meta, family.Draw(metaBatch, seeds.Tasks));
            if (run.Accept(i, step)) optimiser.Step(step.Gradient);
            run.Record(i, step, started);
        }
        run.Finish(RunOutcome.Completed, iterations, report: null);
        (net as IDisposable)?.Dispose();
        return run.Folder.Path;
    }

    private sealed class FixedOptions : IExperimentOptions
    {
        public void Validate() { }

        public IReadOnlyList<KeyValuePair<string, string>> Resolved() => [new("Seed", "1")];
    }
}

/// <summary>Optional system parts of these tests: skipped visibly when absent, a failure when META_REQUIRE_OPTIONAL=1 (as in .ci/run).</summary>
internal static class ModelParts
{
    public static void Require(bool present, string what, string aptPackage)
    {
        if (present) return;
        var reason = $"{what}: apt-get install {aptPackage} to run this test (.ci/run installs it)";
        if (Environment.GetEnvironmentVariable("META_REQUIRE_OPTIONAL") == "1")
            Assert.Fail($"{reason}; META_REQUIRE_OPTIONAL=1 makes a missing optional part a failure");
        throw new SkipException(reason);
    }

    public static void RequireFonts() => Require(
        File.Exists(Path.Combine(Meta.Tasks.Images.GlyphOptions.DefaultFontFolder, "DejaVuSans.ttf")),
        $"the DejaVu fonts are missing from {Meta.Tasks.Images.GlyphOptions.DefaultFontFolder}", "fonts-dejavu-core");

    /// <summary>Whether /usr/bin/python3 imports torch.</summary>
    public static bool HasPyTorch()
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", ["-c", "import torch"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
