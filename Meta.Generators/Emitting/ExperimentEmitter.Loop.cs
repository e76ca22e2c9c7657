using Meta.Generators.Model;

namespace Meta.Generators.Emitting;

// The Trainer: the loop a person reads and steps through in a debugger. Its shape is the same for every experiment;
// the task family and the algorithm each contribute the expressions that construct their runtime types, so a new
// family or algorithm is a new case below, never a run-time dispatch.
internal static partial class ExperimentEmitter
{
    private static void WriteTrainer(SourceWriter writer, ExperimentSpec experiment)
    {
        writer.WriteLine($"/// <summary>The training loop of <c>{experiment.Name}</c>: {experiment.Algorithm.DisplayName} on {experiment.Family.DisplayName}.</summary>");
        writer.WriteLine(GeneratedCodeAttribute);
        using (writer.WriteBlock($"public sealed class Trainer(Options options, {Hosting}ExperimentRun run) : {Hosting}IExperimentTrainer"))
        {
            writer.WriteLine("/// <inheritdoc />");
            using (writer.WriteBlock($"public {Hosting}RunOutcome Run(global::System.Threading.CancellationToken cancel)"))
            {
                writer.WriteLine($$"""
                    global::Meta.TorchRuntime.UseThreads(options.Threads);
                    using var seeds = new global::Meta.Training.RunSeeds(options.Seed);
                    var family = {{FamilyConstruction(experiment.Family)}};
                    var network = {{NetworkConstruction(experiment.Family)}};
                    using var theta = network.Initialize(options.Init, seeds.Weights);
                    var algorithm = {{AlgorithmConstruction(experiment.Algorithm)}};
                    using var optimiser = new global::Meta.Training.Adam(theta, options.MetaLr);

                    run.Begin(options.Output, algorithm.Name, options.Iterations, options.LogEvery);
                    var iteration = 0;
                    for (; iteration < options.Iterations; iteration++)
                    {
                        if (cancel.IsCancellationRequested) break;
                        var started = {{Hosting}}ExperimentRun.Timestamp();
                        using var scope = global::TorchSharp.torch.NewDisposeScope();
                        {{Indent(EpisodeSampling(experiment.Family))}}
                        {{MetaStep(experiment.Algorithm)}}
                        optimiser.Step(step.Gradient);
                        run.Record(iteration, step, started);
                    }
                    if (iteration < options.Iterations)
                        return run.Finish({{Hosting}}RunOutcome.Stopped, iteration, report: null);

                    var report = {{Evaluation(experiment.Family)}};
                    return run.Finish({{Hosting}}RunOutcome.Completed, iteration, report);
                    """);
            }
        }
    }

    /// <summary>The task family's runtime object, built from its options.</summary>
    private static string FamilyConstruction(TaskFamilySpec family) => family.Kind switch
    {
        TaskFamilyKind.Sinusoid => """
            new global::Meta.Tasks.SinusoidFamily(new global::Meta.SinusoidRanges(
                options.AmplitudeMin, options.AmplitudeMax, options.PhaseMin, options.PhaseMax, options.InputMin, options.InputMax))
            """,
        _ => Unknown(family.Kind),
    };

    /// <summary>The family's default functional network.</summary>
    private static string NetworkConstruction(TaskFamilySpec family) => family.Kind switch
    {
        TaskFamilyKind.Sinusoid => "global::Meta.Functional.Mlp.ForSinusoid()",
        _ => Unknown(family.Kind),
    };

    /// <summary>Statements that draw the meta-batch's tasks and their episode (<c>episode</c>).</summary>
    private static string EpisodeSampling(TaskFamilySpec family) => family.Kind switch
    {
        TaskFamilyKind.Sinusoid => """
            var tasks = family.Sample(options.MetaBatch, seeds.Tasks);
            var episode = family.Episode(tasks, options.Shots, options.QueryShots, seeds.Tasks);
            """,
        _ => Unknown(family.Kind),
    };

    /// <summary>The family's final evaluation, returning the report of the run summary.</summary>
    private static string Evaluation(TaskFamilySpec family) => family.Kind switch
    {
        TaskFamilyKind.Sinusoid => """
            global::Meta.Evaluation.SinusoidBenchmark.Evaluate(run, network, family, theta, seeds, options.InnerLr,
                options.EvalTasks, options.EvalPoints, options.PretrainIterations, options.MetaBatch, options.Shots, options.MetaLr, options.Init, cancel)
            """,
        _ => Unknown(family.Kind),
    };

    /// <summary>The algorithm's runtime object over <c>network</c>, built from its options.</summary>
    private static string AlgorithmConstruction(AlgorithmSpec algorithm) => algorithm.Kind switch
    {
        AlgorithmKind.Maml => "new global::Meta.Algorithms.Maml(network, options.InnerSteps, options.InnerLr, options.FirstOrder)",
        _ => Unknown(algorithm.Kind),
    };

    /// <summary>The statement that computes the meta-gradient (<c>step</c>) of one episode.</summary>
    private static string MetaStep(AlgorithmSpec algorithm) => algorithm.Kind switch
    {
        AlgorithmKind.Maml => "var step = algorithm.MetaStep(theta, episode);",
        _ => Unknown(algorithm.Kind),
    };

    /// <summary>Indents the continuation lines of a multi-line fragment interpolated into a loop body.</summary>
    private static string Indent(string fragment) => fragment.Replace("\n", "\n    ");

    private static string Unknown<T>(T kind) => throw new System.ArgumentOutOfRangeException(nameof(kind), kind, "no emitter for this kind");
}
