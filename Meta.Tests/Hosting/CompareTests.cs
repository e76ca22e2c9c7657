using Meta.Evaluation;
using Meta.Hosting;

namespace Meta.Tests.Hosting;

/// <summary>The compare command through the real program: one process per experiment and seed, one table.</summary>
[Collection(TorchCollection.Name)]
public sealed class CompareTests
{
    [Fact]
    public void A_failed_run_is_reported_in_the_table_and_the_others_still_compare()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-compare-" + Guid.NewGuid().ToString("N"));
        try
        {
            // At α = 1000 second-order MAML survives 20 steps with huge losses; FOMAML's first step is already NaN. Two
            // jobs: both children run at once and the table still lists them in the order named.
            var jobs = Math.Min(2, Environment.ProcessorCount).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var result = ExperimentProcess.Run(["compare", "sine-maml", "cmp-fomaml", "--seeds", "1", "--jobs", jobs, "--iterations", "20",
                "--pretrain-iterations", "0", "--eval-tasks", "4", "--inner-lr", "1000", "--output", output], timeoutSeconds: 240);

            Assert.Equal(1, result.ExitCode);
            var table = File.ReadAllText(Directory.GetFiles(output, "comparison.md", SearchOption.AllDirectories).Single());
            Assert.Contains("| sine-maml | maml |", table);
            Assert.Contains("| cmp-fomaml | every run failed (below) |", table);
            Assert.Contains("cmp-fomaml, seed 1: exit 1: iteration 1: the meta-loss is NaN", table);
            Assert.True(table.IndexOf("| sine-maml |", StringComparison.Ordinal) < table.IndexOf("| cmp-fomaml |", StringComparison.Ordinal));
            Assert.Single(Directory.GetFiles(output, "comparison.png", SearchOption.AllDirectories));
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1000")]
    [InlineData("two")]
    public void Jobs_outside_one_to_the_cores_is_refused_in_one_line(string jobs)
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-compare-" + Guid.NewGuid().ToString("N"));
        var result = ExperimentProcess.Run(["compare", "sine-maml", "--jobs", jobs, "--output", output]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"error: --jobs: '{jobs}' is not accepted; expected a whole number from 1 to", result.Error.Trim());
        Assert.False(Directory.Exists(output), "nothing is written for bad input");
    }

    [Fact]
    public void Shared_options_are_checked_against_every_experiment_before_any_training()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-compare-" + Guid.NewGuid().ToString("N"));
        var result = ExperimentProcess.Run(["compare", "sine-maml", "cmp-imaml", "--lambda", "0", "--output", output]);
        Assert.Equal(2, result.ExitCode);
        Assert.False(Directory.Exists(output), "nothing is written for bad input");
    }
}

/// <summary>compare's table from fabricated results: failed runs, diverged tasks per seed, aggregates that hide nothing.</summary>
public sealed class CompareTableTests
{
    private static RunResult Result(string name, params EvaluationRow[] rows) =>
        Grid(name, new Dictionary<string, double>(), rows) with { Options = new Dictionary<string, string> { ["Shots"] = "10", ["InnerSteps"] = "10" } };

    private static RunResult Grid(string name, Dictionary<string, double> results, params EvaluationRow[] rows) =>
        new(name, "maml", "completed", 100, 1, 100, 2, 300, 320, new Dictionary<string, string>(), rows, results);

    private static EvaluationRow Row(int steps, double mean, double median, int diverged) =>
        new(Models.MetaLearned, 10, steps, mean, 0.01, 600, median, diverged);

    private static string Line(string table, string name) =>
        table.Split('\n').Single(l => l.StartsWith($"| {name} |", StringComparison.Ordinal));

    [Fact]
    public void A_diverged_seed_and_a_failed_run_read_directly_off_the_table()
    {
        var runs = new List<Comparison.SeedRun>
        {
            new("cmp-maml", 1, Result("cmp-maml", Row(1, 0.5, 0.4, 0), Row(10, 0.10, 0.08, 0)), null),
            new("cmp-maml", 2, Result("cmp-maml", Row(1, 0.7, 0.5, 0), Row(10, 0.30, 0.10, 2)), null),
            new("cmp-maml", 3, Result("cmp-maml", Row(1, 0.6, 0.45, 0), Row(10, 0.20, 0.09, 0)), null),
            new("cmp-meta-sgd", 1, Result("cmp-meta-sgd", Row(1, 0.4, 0.3, 0), Row(10, double.PositiveInfinity, 0.2, 7)), null),
            new("cmp-meta-sgd", 2, null, "exit 1: iteration 812: the meta-loss is NaN"),
            new("cmp-meta-sgd", 3, Result("cmp-meta-sgd", Row(1, 0.5, 0.35, 0), Row(10, 0.25, 0.15, 1)), null),
            new("cmp-imaml", 1, null, "exit 1: iteration 3: the meta-loss is NaN"),
        };
        var table = Comparison.Table(["cmp-maml", "cmp-meta-sgd", "cmp-imaml"], runs, ["--iterations", "200"], 3);

        var maml = Line(table, "cmp-maml");
        Assert.StartsWith("| cmp-maml | maml | 0 | K=10, 10 steps: 0, 2, 0 | 0.600 ± 0.113; median 0.450 ± 0.057; diverged 0, 0, 0 | 0.200 ± 0.113; median 0.090 ± 0.011; diverged 0, 2, 0 |", maml);
        // An infinite seed mean is not averaged away; the failed seed is marked in place; the medians still average.
        var sgd = Line(table, "cmp-meta-sgd");
        Assert.StartsWith("| cmp-meta-sgd | maml | 1 of 3 (seed 2) | K=10, 10 steps: 7, ✗, 1 | 0.450 ± 0.098; median 0.325 ± 0.049; diverged 0, ✗, 0 | ∞; median 0.175 ± 0.049; diverged 7, ✗, 1 |", sgd);
        Assert.Contains("| cmp-imaml | every run failed (below) |", table);
        Assert.Contains("- cmp-meta-sgd, seed 2: exit 1: iteration 812: the meta-loss is NaN", table);
        Assert.Contains("- cmp-imaml, seed 1: exit 1: iteration 3: the meta-loss is NaN", table);
        Assert.Contains("`--iterations 200`", table);
        Assert.Contains("10× the larger of the task's loss before adaptation and its targets' variance", table);
        var header = table.Split('\n').Single(l => l.StartsWith("| experiment", StringComparison.Ordinal));
        Assert.Equal(header.Count(c => c == '|'), maml.Count(c => c == '|'));
    }

    [Fact]
    public void A_run_that_diverged_in_training_is_named_in_the_failed_runs_column_and_stays_in_the_means()
    {
        var runs = new List<Comparison.SeedRun>
        {
            new("cmp-imaml", 1, Result("cmp-imaml", Row(10, 0.2, 0.1, 0)), null),
            new("cmp-imaml", 2, Result("cmp-imaml", Row(10, 4e6, 3e6, 0)) with { TrainingDiverged = true }, null),
        };
        var line = Line(Comparison.Table(["cmp-imaml"], runs, [], 2), "cmp-imaml");
        Assert.StartsWith("| cmp-imaml | maml | 0; diverged in training: seed 2 | K=10, 10 steps: 0, 0 | 2e+6 ± ", line);
    }

    [Theory]
    [InlineData(new[] { 3.0, 2.0, 1.0, 0.5 }, false)]                    // trains
    [InlineData(new[] { 3.0, 3.0, 20.0, 29.0 }, false)]                 // ends above its start, but not 10× above
    [InlineData(new[] { 3.0, 3.0, 40.0, 31.0 }, true)]                  // ends more than 10× above its start
    [InlineData(new[] { 3.0, 2.0, 1.0, double.PositiveInfinity }, true)]
    [InlineData(new[] { 3.0 }, false)]                                   // too short to say
    public void A_run_diverged_in_training_when_its_meta_loss_ends_ten_times_above_its_start(double[] losses, bool diverged)
    {
        // Four iterations: each end's window is one iteration (a tenth of the run, at least one).
        var reason = ExperimentRun.TrainingDivergence(losses);
        Assert.Equal(diverged, reason is not null);
        if (diverged) Assert.Contains("the mean of the first 1, 3.000", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Training_divergence_averages_a_tenth_of_the_run_at_each_end_up_to_a_hundred_iterations()
    {
        // 2,000 iterations: the windows are the first and last 100; a single spike at the end does not decide.
        var losses = Enumerable.Repeat(1.0, 2_000).ToArray();
        losses[^1] = 500;                                                   // last-100 mean 5.99: not 10×
        Assert.Null(ExperimentRun.TrainingDivergence(losses));
        for (var i = 1_900; i < 2_000; i++) losses[i] = 11;
        Assert.Contains("last 100 iterations, 11.000, is above 10×", ExperimentRun.TrainingDivergence(losses), StringComparison.Ordinal);
    }

    [Fact]
    public void Grid_results_show_diverged_tasks_per_seed_and_an_infinite_mean_as_infinity()
    {
        var runs = new List<Comparison.SeedRun>
        {
            new("tw2d-pq", 1, Grid("tw2d-pq", new() { ["grid.mean"] = 0.2, ["grid.median"] = 0.1, ["grid.worst10"] = 0.8, ["grid.diverged"] = 0 }), null),
            new("tw2d-pq", 2, Grid("tw2d-pq", new() { ["grid.mean"] = double.PositiveInfinity, ["grid.median"] = 0.12, ["grid.worst10"] = double.PositiveInfinity, ["grid.diverged"] = 4 }), null),
        };
        var line = Line(Comparison.Table(["tw2d-pq"], runs, [], 2), "tw2d-pq");
        Assert.StartsWith("| tw2d-pq | maml | 0 | – | ∞ | 0.110 ± 0.020 | ∞ | 0, 4 |", line);
    }

    [Fact]
    public void Seed_aggregates_never_drop_a_value_that_is_not_finite()
    {
        Assert.Equal(double.PositiveInfinity, Comparison.Stat([0.1, double.PositiveInfinity, 0.2]).Mean);
        Assert.Equal(double.PositiveInfinity, Comparison.Stat([0.1, double.NaN]).Mean);
        Assert.True(double.IsNaN(Comparison.Stat([]).Mean));
        var (mean, ci) = Comparison.Stat([0.1, 0.3]);
        Assert.Equal(0.2, mean, 12);
        Assert.Equal(1.96 * Math.Sqrt(0.02) / Math.Sqrt(2), ci, 12);
    }

    [Theory]
    [InlineData("cmp-*", "cmp-meta-sgd", true)]
    [InlineData("cmp-*", "seed003-maml", false)]
    [InlineData("seed00?-*", "seed003-maml", false)]   // only * is special
    [InlineData("seed003-*", "seed003-meta-sgd", true)]
    [InlineData("*-maml", "cmp-maml", true)]
    [InlineData("cmp-maml", "cmp-maml-plus-plus", false)]
    public void A_star_in_an_experiment_name_matches_any_characters(string pattern, string name, bool matches) =>
        Assert.Equal(matches, Comparison.Matches(pattern, name));
}
