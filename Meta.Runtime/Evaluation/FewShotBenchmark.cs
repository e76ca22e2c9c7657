using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks.Images;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// The final evaluation of a few-shot image experiment: accuracy on fixed test episodes drawn from the meta-test
/// classes (600 by default, their own seed), adapting the meta-learned initialisation with the algorithm's own rule,
/// and beside it the same network from a random initialisation adapted by plain SGD at the inner rate ("from scratch").
/// </summary>
public static class FewShotBenchmark
{
    /// <summary>
    /// Checks before training that the meta-test classes can make the test episodes (enough classes for N ways, enough
    /// images per class for K + Q); throws <see cref="DatasetException"/> otherwise.
    /// </summary>
    public static void CheckTestClasses(ImageClassDataset testClasses, int ways, int shots, int queries) =>
        _ = new FewShotFamily(testClasses, ways, shots, queries, source: "the meta-test classes");

    /// <summary>Builds the report; also records <c>accuracy</c> and <c>accuracy.ci95</c> (percent) as run results.</summary>
    public static EvaluationReport Evaluate(ExperimentRun run, IMetaAlgorithm algorithm, ImageClassDataset testClasses, Tensor metaParameters,
        RunSeeds seeds, int ways, int shots, int queries, int steps, int episodes, double innerLr, WeightInit init, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(algorithm);
        run.TrainingEnded();
        var family = new FewShotFamily(testClasses, ways, shots, queries, metaParameters.dtype, source: "meta-test classes");
        var evaluation = new FewShotEvaluation(family, RunSeeds.Derive(seeds.Seed, 3), episodes);
        var phase = run.Progress($"evaluating on {episodes} fixed test episodes", "evaluation", 2L * evaluation.Episodes, "episodes");
        var learned = evaluation.Evaluate(algorithm, metaParameters, steps, cancel, phase);
        run.Result("accuracy", 100 * learned.Accuracy);
        run.Result("accuracy.ci95", 100 * learned.Ci95);
        var rows = new List<EvaluationRow> { learned.ToRow(Models.MetaLearned, shots) };

        using var baselineStream = seeds.NewBaselines();
        using var scratch = algorithm.Network.Initialize(init, baselineStream, metaParameters.dtype);
        var sgd = new Maml(algorithm.Network, algorithm.Loss, 1, innerLr, firstOrder: true);
        rows.Add(evaluation.Evaluate(sgd, scratch, steps, cancel, phase).ToRow(Models.Scratch, shots));
        return new EvaluationReport(evaluation.Protocol + $" Table: accuracy in % after {steps} inner step{(steps == 1 ? "" : "s")}.", rows);
    }
}
