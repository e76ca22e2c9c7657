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
    /// <summary>A task whose query loss is not finite or above this counts as diverged.</summary>
    public const double DivergedLoss = 1e6;

    /// <summary>Scores <paramref name="test"/> after each of <paramref name="steps"/> inner steps; records <c>query.mse</c> results.</summary>
    public static EvaluationReport Evaluate(EvaluationContext context, Tasks.Episode test, IReadOnlyList<int> steps)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0 || steps.Any(s => s < 1)) throw new ArgumentException("steps must be one or more counts ≥ 1", nameof(steps));
        var algorithm = context.Algorithm;
        var shots = (int)test.SupportX.shape[1];
        context.Run.TrainingEnded();
        context.Run.Phase($"evaluating on {test.Tasks} held-out tasks");
        var rows = new List<EvaluationRow>();
        foreach (var s in steps)
        {
            context.Cancel.ThrowIfCancellationRequested();   // a cut-short table is no table: the run ends as stopped
            rows.Add(Score(Models.MetaLearned, algorithm, context.MetaParameters, test, s, shots));
        }
        using var baselines = context.Seeds.NewBaselines();
        using var scratch = algorithm.Network.Initialize(context.Init, baselines, context.MetaParameters.dtype);
        var sgd = new Maml(algorithm.Network, algorithm.Loss, 1, context.Definition.InnerLr, firstOrder: true);
        foreach (var s in steps)
        {
            context.Cancel.ThrowIfCancellationRequested();
            rows.Add(Score(Models.Scratch, sgd, scratch, test, s, shots));
        }
        if (rows.FirstOrDefault(r => r.Model == Models.MetaLearned && r.Steps == steps[^1]) is { } last)
            context.Run.Result("query.loss", last.Mean);
        var protocol = string.Create(CultureInfo.InvariantCulture,
            $"{test.Tasks} held-out tasks, K = {shots} support and {test.QueryX.shape[1]} query points each; adapt from each initialisation, {algorithm.Loss.Name} on the query points; mean ± 95 % CI over tasks.");
        return new EvaluationReport(protocol, rows);
    }

    private static EvaluationRow Score(string model, IMetaAlgorithm algorithm, Tensor parameters, Tasks.Episode test, int steps, int shots)
    {
        using var scope = NewDisposeScope();
        var fast = algorithm.Adapt(parameters, test.SupportX, test.SupportY, steps);
        using var noGrad = no_grad();
        var losses = algorithm.Loss.PerTask(algorithm.Network.Forward(fast, test.QueryX), test.QueryY).to_type(ScalarType.Float64);
        var values = losses.data<double>().ToArray();
        var n = values.Length;
        var mean = values.Average();
        var sd = n > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1)) : 0;
        var sorted = values.Select(v => v <= DivergedLoss ? v : double.PositiveInfinity).Order().ToArray();
        var median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        return new EvaluationRow(model, shots, steps, mean, 1.96 * sd / Math.Sqrt(n), n, median, sorted.Count(double.IsPositiveInfinity));
    }
}
