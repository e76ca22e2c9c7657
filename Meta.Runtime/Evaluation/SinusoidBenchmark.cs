using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// The end-of-run comparison for sinusoid experiments: the meta-learned initialisation against a random one ("from
/// scratch", seed 002) and one pre-trained on all tasks jointly, on the same fixed test tasks.
/// </summary>
public static class SinusoidBenchmark
{
    /// <summary>
    /// Builds the evaluation table (K ∈ {5, 10, 20} × 1 / 5 / 10 SGD steps at α). A stop request (<paramref name="cancel"/>)
    /// throws <see cref="OperationCanceledException"/> between cells and pre-training steps; the trained state's checkpoint
    /// is written first (<see cref="ExperimentRun.TrainingEnded"/>), so the run ends as stopped and resumes into the evaluation.
    /// </summary>
    public static EvaluationReport Evaluate(ExperimentRun run, IMetaAlgorithm algorithm, SinusoidFamily family, Tensor metaParameters,
        RunSeeds seeds, double innerLr, int evalTasks, int evalPoints, int pretrainIterations, int metaBatch, int shots,
        double metaLr, WeightInit init, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(run);
        run.TrainingEnded();
        using var evaluationStream = seeds.NewEvaluation();
        using var baselineStream = seeds.NewBaselines();
        using var evaluation = new SinusoidEvaluation(family, evalTasks, ExperimentDefaults.EvalShots, ExperimentDefaults.EvalSteps, evalPoints, evaluationStream);
        var cells = evaluation.Shots.Count * ExperimentDefaults.EvalSteps.Count;
        var phase = run.Progress($"evaluating on {evaluation.Tasks} fixed test tasks", "evaluation", 2L * cells, "cells");
        var rows = new List<EvaluationRow>(evaluation.Evaluate(Models.MetaLearned, algorithm, metaParameters, cancel, phase));
        var network = algorithm.Network;
        var sgd = new Maml(network, algorithm.Loss, 1, innerLr, firstOrder: true); // baselines adapt by plain SGD at α
        using (var scratch = network.Initialize(init, baselineStream))
        {
            rows.AddRange(evaluation.Evaluate(Models.Scratch, sgd, scratch, cancel, phase));
            Tensor? pretrained = null;
            if (pretrainIterations > 0)
            {
                var pretraining = run.Progress($"pre-training the joint baseline for {pretrainIterations} iterations", "baseline", pretrainIterations, "it");
                pretrained = JointPretraining.Train(network, family, scratch, pretrainIterations, metaBatch, shots, metaLr, baselineStream, cancel, pretraining);
                var last = run.Progress("evaluating the pre-trained baseline", "evaluation", cells, "cells");
                rows.AddRange(evaluation.Evaluate(Models.Pretrained, sgd, pretrained, cancel, last));
            }
            using (pretrained)
            {
                if (run.IsWriter && SinusoidFits.TryWrite(run.Folder.File(SinusoidFits.FileName), family, algorithm, metaParameters, sgd, pretrained, seeds.Seed, shots))
                    run.AddSection("Fits", $"Three fixed test tasks with K = {shots} support points: the prediction before adaptation and after 1 and 10 steps, meta-learned (its own rule){(pretrained is null ? "" : " above pre-trained (SGD at α)")}.\n\n![fits]({SinusoidFits.FileName})");
            }
        }
        return new EvaluationReport(evaluation.Protocol, rows);
    }
}
