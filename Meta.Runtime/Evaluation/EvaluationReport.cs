using System.Globalization;
using System.Text;

namespace Meta.Evaluation;

/// <summary>One cell of an evaluation table: a model adapted with K support points for S steps.</summary>
/// <param name="Model">Which initialisation (meta-learned, from scratch, pre-trained).</param>
/// <param name="Shots">Support points K.</param>
/// <param name="Steps">Inner SGD steps at test time.</param>
/// <param name="Mean">
/// Mean test loss over all tasks, diverged ones included (+∞ when any task's loss is not finite, NaN counting as +∞).
/// </param>
/// <param name="Ci95">Half-width of the 95 % confidence interval of the mean (1.96·sd/√n; NaN when the mean is not finite).</param>
/// <param name="Tasks">Number of test tasks.</param>
/// <param name="Median">Median test loss over the tasks (NaN where not measured, e.g. accuracy tables); robust where a few tasks diverge.</param>
/// <param name="Diverged">Tasks that diverged by <see cref="Divergence.IsDiverged"/>: loss not finite or above <see cref="Divergence.Factor"/>× the task's reference (<see cref="Divergence.Reference"/>) before adaptation.</param>
public sealed record EvaluationRow(string Model, int Shots, int Steps, double Mean, double Ci95, int Tasks, double Median = double.NaN, int Diverged = 0)
{
    /// <summary>
    /// The row for one cell from each task's loss after adaptation (<paramref name="losses"/>) and before it
    /// (<paramref name="before"/>: the same model on the same task at 0 steps): the mean over all tasks, its CI, the
    /// median and the diverged count.
    /// </summary>
    public static EvaluationRow Of(string model, int shots, int steps, IReadOnlyList<double> losses, IReadOnlyList<double> before)
    {
        ArgumentNullException.ThrowIfNull(losses);
        ArgumentNullException.ThrowIfNull(before);
        if (losses.Count == 0) throw new ArgumentException("a cell needs at least one task", nameof(losses));
        if (before.Count != losses.Count) throw new ArgumentException($"{before.Count} pre-adaptation losses for {losses.Count} tasks", nameof(before));
        var n = losses.Count;
        // A NaN task is a diverged task: it counts as +∞, so the mean says so and the median sorts it last.
        var values = losses.Select(v => double.IsNaN(v) ? double.PositiveInfinity : v).ToArray();
        var mean = values.Average();
        var ci = double.IsFinite(mean) && n > 1 ? 1.96 * Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1)) / Math.Sqrt(n)
            : double.IsFinite(mean) ? 0 : double.NaN;
        var diverged = 0;
        for (var t = 0; t < n; t++)
            if (Divergence.IsDiverged(losses[t], before[t])) diverged++;
        return new EvaluationRow(model, shots, steps, mean, ci, n, Divergence.Median(values), diverged);
    }
}

/// <summary>When a test task counts as diverged.</summary>
public static class Divergence
{
    /// <summary>
    /// A test task has diverged when its loss after adaptation is not finite or more than <c>Factor</c> times its own
    /// loss before adaptation (the same model on the same task at 0 steps). Adaptation is meant to lower the loss; a task
    /// that ends an order of magnitude above where it started has been thrown off by the inner loop, whatever the loss's
    /// scale. The rule is relative on purpose: an absolute bound (the former 1e6) depends on the units of the loss and let a
    /// sinusoid task sitting at 288 (from about 3 before adaptation) count as converged.
    /// </summary>
    public const double Factor = 10;

    /// <summary>
    /// Whether a task with <paramref name="loss"/> after adaptation and <paramref name="before"/> at 0 steps diverged: the
    /// loss is not finite, or above <see cref="Factor"/>·<paramref name="before"/>. (A task whose start is itself not
    /// finite diverges only if its end is not finite either.)
    /// </summary>
    public static bool IsDiverged(double loss, double before) => !double.IsFinite(loss) || loss > Factor * before;

    /// <summary>
    /// Each task's loss when every target is predicted by the mean of that task's own targets [T, N, …] (for the mean
    /// squared error: the targets' variance) — the scale of the task itself. Zeros for targets that are not floating point
    /// (class labels), where the rule keeps only the task's start as its reference.
    /// </summary>
    public static double[] ConstantPredictionLoss(Meta.Algorithms.ITaskLoss loss, TorchSharp.torch.Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(targets);
        if (!targets.is_floating_point() || targets.dim() < 2) return new double[targets.dim() == 0 ? 0 : targets.Dims()[0]];
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var noGrad = TorchSharp.torch.no_grad();
        var mean = targets.mean([1], keepdim: true).expand_as(targets);
        return loss.PerTask(mean, targets).to_type(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
    }

    /// <summary>
    /// The reference a task's adapted loss is compared with: the larger of its loss before adaptation and
    /// <see cref="ConstantPredictionLoss"/>. A task the initialisation happens to fit almost perfectly (a sinusoid of
    /// amplitude 0.1 starts near 0.005) is not "diverged" when a few steps on K noisy-free points move it to 0.06, well
    /// inside the task's own spread; a task that lands an order of magnitude above both has been thrown off.
    /// </summary>
    public static double[] Reference(IReadOnlyList<double> before, IReadOnlyList<double> constantPrediction)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(constantPrediction);
        if (before.Count != constantPrediction.Count)
            throw new ArgumentException($"{before.Count} losses before adaptation but {constantPrediction.Count} constant-prediction losses");
        return [.. before.Select((b, i) => double.IsNaN(b) ? b : Math.Max(b, constantPrediction[i]))];
    }

    /// <summary>The median of <paramref name="values"/> with NaN counted as +∞ (NaN for none).</summary>
    public static double Median(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Select(v => double.IsNaN(v) ? double.PositiveInfinity : v).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}

/// <summary>An evaluation table and the protocol that produced it.</summary>
/// <param name="Protocol">One sentence stating the test protocol.</param>
/// <param name="Rows">Every (model, K, steps) cell.</param>
public sealed record EvaluationReport(string Protocol, IReadOnlyList<EvaluationRow> Rows)
{
    /// <summary>How a loss cell reads, for the protocol sentence of loss tables.</summary>
    public static readonly string CellLegend = string.Create(CultureInfo.InvariantCulture,
        $"each cell: mean over all tasks ± 95 % CI (∞ when a task's loss is not finite), median over tasks, and how many tasks diverged (loss not finite or above {Divergence.Factor:0}× the larger of the task's loss before adaptation and its targets' variance).");

    /// <summary>The row for a model, K and S, if evaluated.</summary>
    public EvaluationRow? Find(string model, int shots, int steps) =>
        Rows.FirstOrDefault(r => r.Model == model && r.Shots == shots && r.Steps == steps);

    /// <summary>
    /// One cell, with a leading space. A loss cell (median measured): <c>mean ± CI (median m, 0 diverged)</c>, or with
    /// diverged tasks <c>mean ± CI (median m, d of n diverged)</c>; a mean that is not finite prints as ∞ (and has no CI),
    /// a large one in exponent form. An accuracy cell (no median): <c>mean ± CI</c>.
    /// </summary>
    public static string Cell(EvaluationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var spread = double.IsFinite(row.Mean) && double.IsFinite(row.Ci95) ? " ± " + Number(row.Ci95) : "";
        if (double.IsNaN(row.Median)) return $" {Number(row.Mean)}{spread}";
        var diverged = row.Diverged == 0 ? "0 diverged" : string.Create(CultureInfo.InvariantCulture, $"{row.Diverged} of {row.Tasks} diverged");
        return $" {Number(row.Mean)}{spread} (median {Number(row.Median)}, {diverged})";
    }

    /// <summary>A loss or accuracy for a table: three decimals, exponent form from 10,000 on, ∞ / −∞ / NaN spelled out.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "∞",
        double.NegativeInfinity => "−∞",
        double.NaN => "NaN",
        _ when Math.Abs(value) >= 1e4 => value.ToString("0.##e+0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.000", CultureInfo.InvariantCulture),
    };

    /// <summary>A Markdown table: one row per model and K, one column per step count, each cell by <see cref="Cell"/>.</summary>
    public string ToMarkdown()
    {
        var steps = Rows.Select(r => r.Steps).Distinct().Order().ToArray();
        var sb = new StringBuilder();
        sb.Append("| model | K |");
        foreach (var s in steps) sb.Append(CultureInfo.InvariantCulture, $" {s} step{(s == 1 ? "" : "s")} |");
        sb.AppendLine();
        sb.Append("|---|---:|");
        foreach (var _ in steps) sb.Append("---:|");
        sb.AppendLine();
        foreach (var group in Rows.GroupBy(r => (r.Model, r.Shots)))
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {group.Key.Model} | {group.Key.Shots} |");
            foreach (var s in steps)
            {
                var row = group.FirstOrDefault(r => r.Steps == s);
                sb.Append(row is null ? " – |" : Cell(row) + " |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
