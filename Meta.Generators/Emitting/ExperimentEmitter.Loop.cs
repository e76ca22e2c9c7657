using Meta.Generators.Model;

namespace Meta.Generators.Emitting;

// The Trainer: the loop a person reads and steps through in a debugger. Its shape is the same for every experiment and
// every component: the family, network and algorithm are built from the options through their contracts
// (ITaskFamily, INetworkDefinition, IAlgorithmDefinition), so a user's own component runs through the same lines as
// the built-ins. Only the loop's own features ([Sampler], [ScratchCurve]) and optional interfaces change the text.
internal static partial class ExperimentEmitter
{
    private static void WriteTrainer(SourceWriter writer, ExperimentSpec experiment)
    {
        writer.WriteLine($"/// <summary>The training loop of <c>{experiment.Name}</c>: {Xml(experiment.Algorithm.DisplayName)} on {Xml(experiment.Tasks.DisplayName)}.</summary>");
        writer.WriteLine(GeneratedCodeAttribute);
        using (writer.WriteBlock($"public sealed class Trainer(Options options, {Hosting}ExperimentRun run) : {Hosting}IExperimentTrainer"))
        {
            writer.WriteLine("/// <inheritdoc />");
            using (writer.WriteBlock($"public {Hosting}RunOutcome Run(global::System.Threading.CancellationToken cancel)"))
            {
                writer.WriteLine($$"""
                    global::Meta.TorchRuntime.UseThreads(options.Threads);
                    using var parallel = global::Meta.Training.TaskParallel.For(options.Parallelism, options.Threads, run.Phase);
                    using var group = global::Meta.Distributed.ProcessGroups.Create(options.Distributed);
                    using var seeds = new global::Meta.Training.RunSeeds(options.Seed, group.Rank);
                    {{(experiment.Tasks.IsDisposable ? "using " : "")}}var tasks = options.CreateTasks();
                    global::Meta.{{(experiment.Sampler is null ? "ITaskFamily" : "ISampledTaskFamily")}} family = tasks;
                    family.Prepare(new global::Meta.FamilyContext(options.Seed));
                    global::Meta.IAlgorithmDefinition definition = options.CreateAlgorithm();
                    global::Meta.INetworkDefinition architecture = options.CreateNetwork();
                    var network = architecture.Create(new global::Meta.NetworkContext(family.Shape, definition.NetworkStepSets));
                    using var networkLifetime = network as global::System.IDisposable;
                    var algorithm = definition.Create(new global::Meta.AlgorithmContext(network, family.Loss, seeds));
                    using var theta = network.Initialize(options.Init, seeds.Weights);
                    using var meta = algorithm.InitialMetaParameters(theta);
                    using var optimiser = global::Meta.Training.MetaOptimizers.Create(options.MetaOptimizer, meta, options.MetaLr);
                    var schedule = global::Meta.Training.MetaOptimizers.Schedule(options.MetaLrSchedule, options.MetaLr, options.MetaLrMin, options.Iterations);{{LearnedRateScale(experiment)}}
                    var tasksPerRank = global::Meta.Distributed.AllReducerExtensions.Share(group, options.MetaBatch);{{SamplerConstruction(experiment)}}{{ScratchConstruction(experiment)}}

                    var settings = new {{Hosting}}RunSettings(options.Output, algorithm.Name, options.Iterations, options.LogEvery)
                    {
                        CheckpointEvery = options.CheckpointEvery,
                        KeepCheckpoints = options.KeepCheckpoints,
                        Resume = options.Resume,
                        OnNonFinite = options.OnNonFinite,
                        MetaGradClip = options.MetaGradClip,
                        Group = group,
                        Components = new(family, architecture, definition, family.Shape),
                    };
                    var iteration = run.Begin(settings, meta,
                    [
                        ("meta.", new global::Meta.Checkpoints.TensorState(meta)),
                        ("optimiser.", optimiser),
                        ("seeds.", seeds),{{SamplerState(experiment)}}{{ScratchState(experiment)}}
                    ]);
                    for (; iteration < options.Iterations; iteration++)
                    {
                        if (cancel.IsCancellationRequested) break;
                        var started = {{Hosting}}ExperimentRun.Timestamp();
                        using var scope = global::TorchSharp.torch.NewDisposeScope();
                        global::Meta.Training.LearningRateScheduleExtensions.Apply(schedule, optimiser, iteration);
                        algorithm.BeginIteration(iteration);
                        {{Indent(EpisodeSampling(experiment))}}
                        {{Indent(MetaStep(experiment))}}
                        global::Meta.Distributed.AllReducerExtensions.AverageGradient(group, step.Gradient, tasksPerRank);
                        if (run.Accept(iteration, step)) optimiser.Step(step.Gradient);  // NaN/∞ check, then the --meta-grad-clip clip
                        {{Indent(Observe(experiment))}}
                    }
                    if (iteration < options.Iterations || !run.IsWriter)
                        return run.Finish(iteration < options.Iterations ? {{Hosting}}RunOutcome.Stopped : {{Hosting}}RunOutcome.Completed, iteration, report: null);

                    run.TrainingEnded();
                    global::Meta.TorchRuntime.UseThreads(options.Threads);  // --parallelism tasks ran libtorch on one thread per worker
                    {{ScratchFinish(experiment)}}var report = family.Evaluate(new global::Meta.EvaluationContext
                    {
                        Run = run,
                        Algorithm = algorithm,
                        Definition = definition,
                        MetaParameters = meta,
                        Seeds = seeds,{{(experiment.Sampler is null ? "" : "\n        Sampling = sampling,")}}
                        MetaBatch = options.MetaBatch,
                        MetaLr = options.MetaLr,
                        Init = options.Init,
                        Cancel = cancel,
                    });
                    return run.Finish({{Hosting}}RunOutcome.Completed, iteration, report);
                    """);
            }
        }
    }

    /// <summary>
    /// With <c>[Sampler]</c>: the sampler session, drawing whole meta-batches identically on every rank. Without: the
    /// lookahead that draws the next episode during a task-parallel step (uniform draws do not depend on the step).
    /// </summary>
    private static string SamplerConstruction(ExperimentSpec experiment) => experiment.Sampler is null ? """

        using var lookahead = new global::Meta.Training.EpisodeLookahead(seeds);
        """.TrimEnd() : """

        var sampling = new global::Meta.Sampling.SamplerSession(
            global::Meta.Sampling.TaskSamplers.Create(family.Space, options.SamplerOptions(), seeds.Sampler), group, options.MetaBatch);
        """.TrimEnd();

    /// <summary>With <c>[Sampler]</c>: the sampler's checkpoint entry.</summary>
    private static string SamplerState(ExperimentSpec experiment) => experiment.Sampler is null ? "" : """

            ("sampler.", sampling),
        """.TrimEnd();

    /// <summary>Statements that draw the meta-batch's tasks and their episode (<c>episode</c>).</summary>
    private static string EpisodeSampling(ExperimentSpec experiment) => experiment.Sampler is null
        ? "var episode = lookahead.Take() ?? family.Draw(tasksPerRank, seeds.Tasks);"
        : """
            var draw = sampling.Draw();
            var episode = family.EpisodeFor(draw.Parameters, seeds.Tasks);
            """;

    /// <summary>
    /// Records the iteration; with <c>[Sampler]</c>, first feeds the tasks' losses back to the sampler; with
    /// <c>[ScratchCurve]</c>, first trains the from-scratch network on the episode.
    /// </summary>
    private static string Observe(ExperimentSpec experiment) => (experiment.ScratchCurve ? "scratch.Observe(episode);\n" : "") + (experiment.Sampler is null
        ? "run.Record(iteration, step, started);"
        : """
            sampling.Observe(draw, step.TaskLosses);
            run.Record(iteration, step, started, sampling);
            """);

    /// <summary>With <c>[ScratchCurve]</c>: the from-scratch learner (its curve is part of a checkpoint).</summary>
    private static string ScratchConstruction(ExperimentSpec experiment) => !experiment.ScratchCurve ? "" : """

        using var scratch = global::Meta.Evaluation.ScratchCurve.Create(network, algorithm.Loss, options.Init, seeds, options.ScratchSteps, options.ScratchLr);
        """.TrimEnd();

    /// <summary>With <c>[ScratchCurve]</c>: the curve's checkpoint entry.</summary>
    private static string ScratchState(ExperimentSpec experiment) => !experiment.ScratchCurve ? "" : """

            ("scratch.", scratch),
        """.TrimEnd();

    /// <summary>With <c>[ScratchCurve]</c>: writes both learning curves before the evaluation.</summary>
    private static string ScratchFinish(ExperimentSpec experiment) => !experiment.ScratchCurve ? "" : "scratch.Finish(run, options.ScratchWindow);\n";

    /// <summary>Algorithms with learned inner rates (<c>ILearnsInnerRates</c>): their own meta learning rate.</summary>
    private static string LearnedRateScale(ExperimentSpec experiment) =>
        experiment.Algorithm.LearnsRates
            ? "\nglobal::Meta.Training.MetaOptimizers.ScaleLearnedRates(optimiser, algorithm, ((global::Meta.ILearnsInnerRates)definition).LearnedRateScale);"
            : "";

    /// <summary>
    /// The statement that computes the meta-gradient (<c>step</c>) of one episode (split over tasks with
    /// <c>--parallelism tasks</c>, the next episode then drawn alongside, except before the last iteration).
    /// </summary>
    private static string MetaStep(ExperimentSpec experiment) => experiment.Sampler is null
        ? """
            var step = parallel.MetaStep(algorithm, meta, episode,
                alongside: iteration + 1 < options.Iterations ? lookahead.Ahead(() => family.Draw(tasksPerRank, seeds.Tasks)) : null);
            """
        : "var step = parallel.MetaStep(algorithm, meta, episode, draw.Weights);";

    /// <summary>Indents the continuation lines of a multi-line fragment interpolated into a loop body.</summary>
    private static string Indent(string fragment, int levels = 1) => fragment.Replace("\n", "\n" + new string(' ', 4 * levels));
}
