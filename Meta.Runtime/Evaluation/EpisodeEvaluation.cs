using System.Globalization;
using Meta.Algorithms;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// A family-independent end-of-run evaluation for regression families: adapt on the support sets of fixed held-out
/// tasks, score the query sets. Compares the meta-learned model (adapting by its algorithm's own rule) with a network
/// trained from scratch (fresh weights, plain SGD at the inner rate), each after every requested number of steps.
/// Families of your own can return it from <see cref="ITaskFamily.Evaluate"/>.
/// </summary>
public static class EpisodeEvaluation
{
    /// <summary>Scores <paramref name="test"/> after each of <paramref name="steps"/> inner steps; records <c>query.mse</c> results.</summary>
    public static EvaluationReport Evaluate(EvaluationContext context, Tasks.Episode test, IReadOnlyList<int> steps)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0 || steps.Any(s => s < 1)) throw new ArgumentException("steps must be one or more counts ≥ 1", nameof(steps));
        var algorithm = context.Algorithm;
        var shots = (int)test.SupportX.Dims()[1];
        context.Run.TrainingEnded();
        context.Run.Phase($"evaluating on {test.Tasks} held-out tasks");
        var rows = new List<EvaluationRow>();
        var spread = Divergence.ConstantPredictionLoss(algorithm.Loss, test.QueryY);
        var before = Divergence.Reference(Losses(algorithm, context.MetaParameters, test, 0), spread);
        foreach (var s in steps)
        {
            context.Cancel.ThrowIfCancellationRequested();   // a cut-short table is no table: the run ends as stopped
            rows.Add(EvaluationRow.Of(Models.MetaLearned, shots, s, Losses(algorithm, context.MetaParameters, test, s), before));
        }
        using var baselines = context.Seeds.NewBaselines();
        using var scratch = algorithm.Network.Initialize(context.Init, baselines, context.MetaParameters.dtype);
        var sgd = new Maml(algorithm.Network, algorithm.Loss, 1, context.Definition.InnerLr, firstOrder: true);
        var scratchBefore = Divergence.Reference(Losses(sgd, scratch, test, 0), spread);
        foreach (var s in steps)
        {
            context.Cancel.ThrowIfCancellationRequested();
            rows.Add(EvaluationRow.Of(Models.Scratch, shots, s, Losses(sgd, scratch, test, s), scratchBefore));
        }
        if (rows.FirstOrDefault(r => r.Model == Models.MetaLearned && r.Steps == steps[^1]) is { } last)
            context.Run.Result("query.loss", last.Mean);
        var protocol = string.Create(CultureInfo.InvariantCulture,
            $"{test.Tasks} held-out tasks, K = {shots} support and {test.QueryX.Dims()[1]} query points each; adapt from each initialisation, {algorithm.Loss.Name} on the query points; ") + EvaluationReport.CellLegend;
        return new EvaluationReport(protocol, rows);
    }

    /// <summary>Each task's query loss after <paramref name="steps"/> inner steps (0: before adaptation).</summary>
    private static double[] Losses(IMetaAlgorithm algorithm, Tensor parameters, Tasks.Episode test, int steps)
    {
        using var scope = NewDisposeScope();
        var fast = algorithm.Adapt(parameters, test.SupportX, test.SupportY, steps);
        using var noGrad = no_grad();
        return algorithm.Loss.PerTask(algorithm.Network.Forward(fast, test.QueryX), test.QueryY).to_type(ScalarType.Float64).data<double>().ToArray();
    }
}
