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
                    using var group = global::Meta.Distributed.ProcessGroups.Create(options.Distributed);
                    using var seeds = new global::Meta.Training.RunSeeds(options.Seed, group.Rank);{{DataLoading(experiment.Family)}}
                    var family = {{FamilyConstruction(experiment.Family)}};
                    {{NetworkDeclaration(experiment)}} = {{NetworkConstruction(experiment)}};
                    var algorithm = {{AlgorithmConstruction(experiment)}};
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
                        Group = group,
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
                        global::Meta.Training.LearningRateScheduleExtensions.Apply(schedule, optimiser, iteration);{{Indent(BeginIteration(experiment))}}
                        {{Indent(EpisodeSampling(experiment))}}
                        {{MetaStep(experiment)}}
                        global::Meta.Distributed.AllReducerExtensions.AverageGradient(group, step.Gradient, tasksPerRank);
                        if (run.Accept(iteration, step)) optimiser.Step(step.Gradient);
                        {{Indent(Observe(experiment))}}
                    }
                    if (iteration < options.Iterations || !run.IsWriter)
                        return run.Finish(iteration < options.Iterations ? {{Hosting}}RunOutcome.Stopped : {{Hosting}}RunOutcome.Completed, iteration, report: null);

                    {{ScratchFinish(experiment)}}{{Indent(Evaluation(experiment), 0)}}
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
        TaskFamilyKind.Sinusoid3D => """
            new global::Meta.Tasks.Sinusoid3DFamily(new global::Meta.Sinusoid3DRanges(options.AmplitudeMin, options.AmplitudeMax,
                options.PhaseMin, options.PhaseMax, options.FrequencyMin, options.FrequencyMax, options.InputMin, options.InputMax))
            """,
        _ when family.IsImage =>
            "new global::Meta.Tasks.Images.FewShotFamily(data.Train, options.Ways, options.Shots, options.QueryShots, source: \"meta-training classes\")",
        _ => Unknown(family.Kind),
    };

    /// <summary>Image families: loads (or renders) the meta-training and meta-test classes before anything is written.</summary>
    private static string DataLoading(TaskFamilySpec family)
    {
        const string Images = "global::Meta.Tasks.Images.";
        var load = family.Kind switch
        {
            TaskFamilyKind.Omniglot => Images + "OmniglotLoader.Load(options.Data, options.Split, \"--data\")",
            TaskFamilyKind.MiniImageNet => Images + "MiniImageNetLoader.LoadTrainTest(options.Data, \"--data\")",
            TaskFamilyKind.Glyphs => Images + "GlyphDataset.RenderSplit(new " + Images + "GlyphOptions(options.Fonts), \"--fonts\")",
            TaskFamilyKind.FashionMnist => Images + "FashionMnist.LoadSplit(options.Data, \"--data\")",
            _ => null,
        };
        return load is null ? "" : "\nusing var data = " + load + ";" +
            "\nglobal::Meta.Evaluation.FewShotBenchmark.CheckTestClasses(data.Test, options.Ways, options.Shots, options.QueryShots);";
    }

    /// <summary>With <c>[Sampler]</c>: the sampler session, drawing whole meta-batches identically on every rank.</summary>
    private static string SamplerConstruction(ExperimentSpec experiment) => experiment.Sampler is null ? "" : """

        var sampling = new global::Meta.Sampling.SamplerSession(
            global::Meta.Sampling.TaskSamplers.Create(family, options.SamplerOptions(), seeds.Sampler), group, options.MetaBatch);
        """.TrimEnd();

    /// <summary>With <c>[Sampler]</c>: the sampler's checkpoint entry.</summary>
    private static string SamplerState(ExperimentSpec experiment) => experiment.Sampler is null ? "" : """

            ("sampler.", sampling),
        """.TrimEnd();

    /// <summary>The declared type of <c>network</c>: the interface when an option chooses between networks at run time.</summary>
    private static string NetworkDeclaration(ExperimentSpec experiment) =>
        experiment.Algorithm.Kind == AlgorithmKind.MamlPlusPlus && !experiment.Family.IsImage
            ? "global::Meta.Functional.IFunctionalNetwork network"
            : experiment.Family.IsImage ? "using var network" : "var network";

    /// <summary>The family's functional network: the 1-40-40-1 MLP (with per-step batch norm for MAML++ if asked), or conv-4.</summary>
    private static string NetworkConstruction(ExperimentSpec experiment) => experiment.Family.Kind switch
    {
        TaskFamilyKind.Sinusoid or TaskFamilyKind.Sinusoid3D when experiment.Algorithm.Kind == AlgorithmKind.MamlPlusPlus =>
            "options.PerStepBatchNorm ? new global::Meta.Functional.BatchNormMlp(options.InnerSteps, 1, 40, 40, 1) : global::Meta.Functional.Mlp.ForSinusoid()",
        TaskFamilyKind.Sinusoid or TaskFamilyKind.Sinusoid3D => "global::Meta.Functional.Mlp.ForSinusoid()",
        _ when experiment.Family.IsImage && experiment.Algorithm.Kind == AlgorithmKind.MamlPlusPlus =>
            "new global::Meta.Functional.ConvNet(options.Ways, data.Train.Channels, data.Train.Height, data.Train.Width, options.Filters,\n" +
            "    perStepBatchNorm: options.PerStepBatchNorm ? options.InnerSteps : 0)",
        _ when experiment.Family.IsImage =>
            "new global::Meta.Functional.ConvNet(options.Ways, data.Train.Channels, data.Train.Height, data.Train.Width, options.Filters)",
        _ => Unknown(experiment.Family.Kind),
    };

    /// <summary>Statements that draw the meta-batch's tasks and their episode (<c>episode</c>).</summary>
    private static string EpisodeSampling(ExperimentSpec experiment) => (experiment.Family.Kind, experiment.Sampler) switch
    {
        (TaskFamilyKind.Sinusoid or TaskFamilyKind.Sinusoid3D, not null) => """
            var draw = sampling.Draw();
            var episode = family.EpisodeFor(draw.Parameters, options.Shots, options.QueryShots, seeds.Tasks);
            """,
        (TaskFamilyKind.Sinusoid or TaskFamilyKind.Sinusoid3D, null) => """
            var tasks = family.Sample(tasksPerRank, seeds.Tasks);
            var episode = family.Episode(tasks, options.Shots, options.QueryShots, seeds.Tasks);
            """,
        (_, null) when experiment.Family.IsImage => "var episode = family.Draw(tasksPerRank, seeds.Tasks);",
        _ => Unknown(experiment.Family.Kind),
    };

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

    /// <summary>The family's final evaluation, returning the report of the run summary.</summary>
    private static string Evaluation(ExperimentSpec experiment)
    {
        var grid = experiment.Sampler is null
            ? "global::Meta.Evaluation.TaskWeightedEvaluation.Evaluate(run, algorithm, family, meta, sampling: null, seeds);"
            : "global::Meta.Evaluation.TaskWeightedEvaluation.Evaluate(run, algorithm, family, meta, sampling, seeds);";
        return experiment.Family.Kind switch
        {
            TaskFamilyKind.Sinusoid => (experiment.Sampler is null ? "" : grid + "\n") + """
                var report = global::Meta.Evaluation.SinusoidBenchmark.Evaluate(run, algorithm, family, meta, seeds, options.InnerLr,
                    options.EvalTasks, options.EvalPoints, options.PretrainIterations, options.MetaBatch, options.Shots, options.MetaLr, options.Init, cancel);
                """,
            TaskFamilyKind.Sinusoid3D => grid + "\nglobal::Meta.Evaluation.EvaluationReport? report = null;",
            _ when experiment.Family.IsImage => """
                var report = global::Meta.Evaluation.FewShotBenchmark.Evaluate(run, algorithm, data.Test, meta, seeds, options.Ways, options.Shots,
                    options.QueryShots, options.TestSteps, options.EvalEpisodes, options.InnerLr, options.Init, cancel);
                """,
            _ => Unknown(experiment.Family.Kind),
        };
    }

    /// <summary>The algorithm's runtime object over <c>network</c> with the family's loss, built from its options.</summary>
    private static string AlgorithmConstruction(ExperimentSpec experiment)
    {
        const string Algorithms = "global::Meta.Algorithms.";
        var loss = Algorithms + (experiment.Family.IsImage ? "TaskLoss.CrossEntropyLoss" : "TaskLoss.MeanSquaredErrorLoss");
        return experiment.Algorithm.Kind switch
        {
            AlgorithmKind.Maml => $"new {Algorithms}Maml(network, {loss}, options.InnerSteps, options.InnerLr, options.FirstOrder)",
            AlgorithmKind.MetaSgd => $"new {Algorithms}MetaSgd(network, {loss}, options.InnerSteps, options.InnerLr, options.FirstOrder)",
            AlgorithmKind.Anil => $"new {Algorithms}Anil(network, {loss}, options.InnerSteps, options.InnerLr, options.FirstOrder)",
            AlgorithmKind.MetaCurvature =>
                $"new {Algorithms}MetaCurvature(network, {loss}, options.InnerSteps, options.InnerLr, options.FirstOrder, options.LearnedLearningRates)",
            AlgorithmKind.Reptile => $$"""
                new {{Algorithms}}Reptile(network, {{loss}}, new {{Algorithms}}ReptileOptions
                {
                    InnerSteps = options.InnerSteps,
                    InnerLr = options.InnerLr,
                    Optimizer = options.InnerOptimizer,
                    AdamBeta1 = options.AdamBeta1,
                    InnerBatchSize = options.InnerBatch,
                    ClipNorm = options.ClipNorm > 0 ? options.ClipNorm : null,
                }, seeds.Tasks)
                """,
            AlgorithmKind.Imaml => $$"""
                new {{Algorithms}}ImplicitMaml(network, {{loss}}, new {{Algorithms}}ImplicitMamlOptions
                {
                    InnerSteps = options.InnerSteps,
                    InnerLr = options.InnerLr,
                    Lambda = options.Lambda,
                    CgSteps = options.CgSteps,
                })
                """,
            AlgorithmKind.MamlPlusPlus => $$"""
                new {{Algorithms}}MamlPlusPlus(network, {{loss}}, new {{Algorithms}}MamlPlusPlusOptions
                {
                    InnerSteps = options.InnerSteps,
                    InnerLr = options.InnerLr,
                    MultiStepLoss = options.MultiStepLoss,
                    MultiStepLossEpochs = options.MultiStepLossEpochs,
                    IterationsPerEpoch = options.IterationsPerEpoch,
                    LearnedLearningRates = options.LearnedLearningRates,
                    FirstOrderEpochs = options.FirstOrderEpochs,
                    GradientClamp = options.GradientClamp > 0 ? options.GradientClamp : null,
                })
                """,
            _ => Unknown(experiment.Algorithm.Kind),
        };
    }

    /// <summary>Algorithms with learned inner rates: their own meta learning rate (a multiple of the meta rate).</summary>
    private static string LearnedRateScale(ExperimentSpec experiment) =>
        experiment.Algorithm.LearnsRates
            ? "\nglobal::Meta.Training.MetaOptimizers.ScaleLearnedRates(optimiser, algorithm, options.LearnedRateScale);"
            : "";

    /// <summary>MAML++: announces the iteration (its loss weights and derivative order follow the epoch).</summary>
    private static string BeginIteration(ExperimentSpec experiment) =>
        experiment.Algorithm.Kind == AlgorithmKind.MamlPlusPlus ? "\nalgorithm.BeginIteration(iteration);" : "";

    /// <summary>The statement that computes the meta-gradient (<c>step</c>) of one episode.</summary>
    private static string MetaStep(ExperimentSpec experiment) => experiment.Sampler is null
        ? "var step = algorithm.MetaStep(meta, episode);"
        : "var step = algorithm.MetaStep(meta, episode, draw.Weights);";

    /// <summary>Indents the continuation lines of a multi-line fragment interpolated into a loop body.</summary>
    private static string Indent(string fragment, int levels = 1) => fragment.Replace("\n", "\n" + new string(' ', 4 * levels));

    private static string Unknown<T>(T kind) => throw new System.ArgumentOutOfRangeException(nameof(kind), kind, "no emitter for this kind");
}
