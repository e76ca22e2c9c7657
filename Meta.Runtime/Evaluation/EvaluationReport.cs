using System.Globalization;
using System.Text;

namespace Meta.Evaluation;

/// <summary>One cell of an evaluation table: a model adapted with K support points for S steps.</summary>
/// <param name="Model">Which initialisation (meta-learned, from scratch, pre-trained).</param>
/// <param name="Shots">Support points K.</param>
/// <param name="Steps">Inner SGD steps at test time.</param>
/// <param name="Mean">Mean test loss over the tasks.</param>
/// <param name="Ci95">Half-width of the 95 % confidence interval of the mean (1.96·sd/√n).</param>
/// <param name="Tasks">Number of test tasks.</param>
/// <param name="Median">Median test loss over the tasks (NaN where not measured); robust where a few tasks diverge.</param>
/// <param name="Diverged">Tasks whose test loss is not finite or above 1e6 (diverged adaptation).</param>
public sealed record EvaluationRow(string Model, int Shots, int Steps, double Mean, double Ci95, int Tasks, double Median = double.NaN, int Diverged = 0);

/// <summary>An evaluation table and the protocol that produced it.</summary>
/// <param name="Protocol">One sentence stating the test protocol.</param>
/// <param name="Rows">Every (model, K, steps) cell.</param>
public sealed record EvaluationReport(string Protocol, IReadOnlyList<EvaluationRow> Rows)
{
    /// <summary>The row for a model, K and S, if evaluated.</summary>
    public EvaluationRow? Find(string model, int shots, int steps) =>
        Rows.FirstOrDefault(r => r.Model == model && r.Shots == shots && r.Steps == steps);

    /// <summary>
    /// One cell: mean ± CI; where some tasks diverged (the mean then says little), the median over tasks and how many
    /// diverged follow in brackets.
    /// </summary>
    public static string Cell(EvaluationRow row) => row.Diverged == 0
        ? string.Create(CultureInfo.InvariantCulture, $" {row.Mean:0.000} ± {row.Ci95:0.000}")
        : string.Create(CultureInfo.InvariantCulture, $" {row.Mean:0.###e+0} (median {row.Median:0.000}; {row.Diverged} of {row.Tasks} tasks diverged)");

    /// <summary>A Markdown table: one row per model and K, one column per step count, "mean ± ci".</summary>
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
