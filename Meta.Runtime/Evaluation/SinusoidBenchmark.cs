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
        run.Phase($"evaluating on {evaluation.Tasks} fixed test tasks");
        var rows = new List<EvaluationRow>(evaluation.Evaluate(Models.MetaLearned, algorithm, metaParameters, cancel));
        var network = algorithm.Network;
        var sgd = new Maml(network, algorithm.Loss, 1, innerLr, firstOrder: true); // baselines adapt by plain SGD at α
        using (var scratch = network.Initialize(init, baselineStream))
        {
            rows.AddRange(evaluation.Evaluate(Models.Scratch, sgd, scratch, cancel));
            if (pretrainIterations > 0)
            {
                run.Phase($"pre-training the joint baseline for {pretrainIterations} iterations");
                using var pretrained = JointPretraining.Train(network, family, scratch, pretrainIterations, metaBatch, shots, metaLr, baselineStream, cancel);
                rows.AddRange(evaluation.Evaluate(Models.Pretrained, sgd, pretrained, cancel));
            }
        }
        return new EvaluationReport(evaluation.Protocol, rows);
    }
}
