using Meta.Evaluation;

namespace Meta.Tests.Runtime.Evaluation;

public sealed class EvaluationReportTests
{
    [Fact]
    public void A_cell_with_diverged_tasks_shows_the_mean_over_all_tasks_the_median_and_the_count_and_keeps_the_table_shape()
    {
        var report = new EvaluationReport("p", [
            new EvaluationRow("meta-learned", 5, 1, 0.636, 0.054, 600, 0.41, 0),
            new EvaluationRow("meta-learned", 5, 5, 1.204, 1.036, 600, 0.18, 2),
            new EvaluationRow("meta-learned", 5, 10, 2.514e24, 4.9e24, 600, 0.179, 1),
        ]);
        var lines = report.ToMarkdown().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("| meta-learned | 5 | 0.636 ± 0.054 (median 0.410, 0 diverged) | 1.204 ± 1.036 (median 0.180, 2 of 600 diverged) | 2.51e+24 ± 4.9e+24 (median 0.179, 1 of 600 diverged) |", lines[2]);
        Assert.All(lines, l => Assert.Equal(6, l.Count(c => c == '|')));
    }

    [Fact]
    public void A_mean_that_is_not_finite_prints_as_infinity_without_a_ci()
    {
        var row = new EvaluationRow("meta-learned", 10, 10, double.PositiveInfinity, double.NaN, 600, 0.2, 3);
        Assert.Equal(" ∞ (median 0.200, 3 of 600 diverged)", EvaluationReport.Cell(row));
    }

    [Fact]
    public void An_accuracy_cell_without_a_median_stays_mean_and_ci()
    {
        Assert.Equal(" 97.500 ± 0.400", EvaluationReport.Cell(new EvaluationRow("meta-learned", 1, 3, 97.5, 0.4, 600)));
    }

    [Theory]
    [InlineData(10.5, 1.0, true)]
    [InlineData(9.0, 1.0, false)]
    [InlineData(10.0, 1.0, false)]          // exactly 10× is not above it
    [InlineData(288.0, 3.1, true)]          // issue 16's task that the old 1e6 bound let through
    [InlineData(0.05, 3.1, false)]
    [InlineData(double.NaN, 1.0, true)]
    [InlineData(double.PositiveInfinity, 1.0, true)]
    [InlineData(double.NegativeInfinity, 1.0, true)]
    [InlineData(5e6, 1e6, false)]           // relative, whatever the loss's scale
    [InlineData(2.0, double.NaN, false)]    // a start that is not finite: only a non-finite end counts
    [InlineData(double.NaN, double.NaN, true)]
    public void A_task_diverges_when_its_loss_is_not_finite_or_above_ten_times_its_start(double loss, double before, bool diverged)
    {
        Assert.Equal(10, Divergence.Factor);
        Assert.Equal(diverged, Divergence.IsDiverged(loss, before));
    }

    [Fact]
    public void A_row_keeps_every_task_in_the_mean_counts_the_diverged_ones_and_ranks_nan_last()
    {
        double[] before = [1, 1, 1, 1, 1];
        var row = EvaluationRow.Of("meta-learned", 5, 10, [0.5, 0.2, 10.5, 9, 0.1], before);
        Assert.Equal((0.5 + 0.2 + 10.5 + 9 + 0.1) / 5, row.Mean, 12);
        Assert.Equal(0.5, row.Median);
        Assert.Equal(1, row.Diverged);
        Assert.Equal(5, row.Tasks);
        Assert.True(row.Ci95 > 0);

        var nan = EvaluationRow.Of("meta-learned", 5, 10, [0.5, double.NaN, 0.3, 0.1], [1, 1, 1, 1]);
        Assert.Equal(double.PositiveInfinity, nan.Mean);
        Assert.True(double.IsNaN(nan.Ci95));
        Assert.Equal(0.4, nan.Median, 12);   // NaN sorts as +∞: (0.3 + 0.5) / 2
        Assert.Equal(1, nan.Diverged);
        Assert.Equal(" ∞ (median 0.400, 1 of 4 diverged)", EvaluationReport.Cell(nan));

        Assert.Throws<ArgumentException>(() => EvaluationRow.Of("m", 5, 1, [1.0, 2.0], [1.0]));
    }

    [Fact]
    public void A_grid_result_counts_diverged_tasks_against_their_own_start()
    {
        var result = new GridValidationResult([], [4], [], [0.1, 12, double.NaN, 3], double.PositiveInfinity, double.NaN, double.PositiveInfinity,
            Before: [1, 1, 1, 1]);
        Assert.Equal(2, result.Diverged);
        Assert.True(result.IsDiverged(1));
        Assert.False(result.IsDiverged(3));
        Assert.Equal(7.5, result.Median);
        var unreferenced = result with { Before = null };
        Assert.Equal(1, unreferenced.Diverged);   // without a start only the NaN counts
    }
}
