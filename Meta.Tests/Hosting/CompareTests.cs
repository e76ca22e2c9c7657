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
            // At α = 1000 second-order MAML survives 20 steps with huge losses; FOMAML's first step is already NaN.
            var result = ExperimentProcess.Run(["compare", "sine-maml", "cmp-fomaml", "--seeds", "1", "--iterations", "20",
                "--pretrain-iterations", "0", "--eval-tasks", "4", "--inner-lr", "1000", "--output", output], timeoutSeconds: 240);

            Assert.Equal(1, result.ExitCode);
            var table = File.ReadAllText(Directory.GetFiles(output, "comparison.md", SearchOption.AllDirectories).Single());
            Assert.Contains("| sine-maml | maml |", table);
            Assert.Contains("| cmp-fomaml | every run failed (below) |", table);
            Assert.Contains("cmp-fomaml, seed 1: exit 1: iteration 1: the meta-loss is NaN", table);
            Assert.Single(Directory.GetFiles(output, "comparison.png", SearchOption.AllDirectories));
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
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
