using Meta.Evaluation;

namespace Meta.Tests.Runtime.Evaluation;

public sealed class EvaluationReportTests
{
    [Fact]
    public void A_cell_with_diverged_tasks_shows_the_median_and_the_count_and_keeps_the_table_shape()
    {
        var report = new EvaluationReport("p", [
            new EvaluationRow("meta-learned", 5, 1, 0.636, 0.054, 600, 0.41, 0),
            new EvaluationRow("meta-learned", 5, 10, 2.514e24, double.NaN, 600, 0.179, 1),
        ]);
        var lines = report.ToMarkdown().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("| meta-learned | 5 | 0.636 ± 0.054 | 2.514e+24 (median 0.179; 1 of 600 tasks diverged) |", lines[2]);
        Assert.All(lines, l => Assert.Equal(5, l.Count(c => c == '|')));
    }
}
