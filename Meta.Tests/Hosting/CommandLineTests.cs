using System.Diagnostics;

namespace Meta.Tests.Hosting;

/// <summary>Bad input: one line naming what is wrong and what is accepted, exit code 2, no stack trace, nothing written.</summary>
[Collection(TorchCollection.Name)]
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "nope" }, "unknown experiment 'nope'", "sine-maml")]
    [InlineData(new[] { "sine-maml", "--bogus", "1" }, "--bogus", "--help")]
    [InlineData(new[] { "sine-maml", "--inner-steps", "-1" }, "--inner-steps", "≥ 1")]
    [InlineData(new[] { "sine-maml", "--inner-steps", "0" }, "--inner-steps", "≥ 1")]
    [InlineData(new[] { "sine-maml", "--inner-lr", "abc" }, "--inner-lr", "'abc'")]
    [InlineData(new[] { "sine-maml", "--meta-lr", "0" }, "--meta-lr", "> 0")]
    [InlineData(new[] { "sine-maml", "--init", "xavier" }, "--init", "finn")]
    [InlineData(new[] { "sine-maml", "--amplitude-min", "3", "--amplitude-max", "1" }, "--amplitude-min", "--amplitude-max")]
    [InlineData(new string[0], "name an experiment", "sine-maml")]
    [InlineData(new[] { "tw2d-pq", "--epsilon-start", "0.2", "--epsilon-final", "0.5" }, "--epsilon-final", "--epsilon-start")]
    [InlineData(new[] { "tw2d-pq", "--epsilon-start", "1.5" }, "--epsilon-start", "[0, 1]")]
    [InlineData(new[] { "tw2d-pq", "--amplitude-block", "10" }, "--amplitude-block", "amplitude")]
    [InlineData(new[] { "tw3d-pq", "--sampler", "greedy" }, "--sampler", "importance-delta")]
    [InlineData(new[] { "cmp-maml-plus-plus", "--inner-steps", "1" }, "--multi-step-loss", "--inner-steps ≥ 2")]
    [InlineData(new[] { "cmp-imaml", "--lambda", "0" }, "--lambda", "> 0")]
    [InlineData(new[] { "cmp-imaml", "--cg-steps", "0" }, "--cg-steps", "≥ 1")]
    [InlineData(new[] { "cmp-reptile", "--inner-batch", "0" }, "--inner-batch", "-1")]
    [InlineData(new[] { "cmp-reptile", "--adam-beta1", "1" }, "--adam-beta1", "below 1")]
    [InlineData(new[] { "cmp-reptile", "--meta-optimizer", "rmsprop" }, "--meta-optimizer", "sgd")]
    [InlineData(new[] { "cmp-maml", "--meta-lr-schedule", "cosine", "--meta-lr-min", "0.01" }, "--meta-lr-min", "--meta-lr")]
    [InlineData(new[] { "fashion-5w1s", "--ways", "6" }, "--ways", "2 to 5")]
    [InlineData(new[] { "cmp-meta-sgd", "--learned-rate-scale", "-1" }, "--learned-rate-scale", "> 0")]
    [InlineData(new[] { "omniglot-5w1s", "--data", "/nonexistent/omniglot" }, "--data", "images_background")]
    [InlineData(new[] { "glyphs-5w1s", "--fonts", "/nonexistent/fonts" }, "--fonts", "*.ttf")]
    [InlineData(new[] { "glyphs-5w1s", "--ways", "5000" }, "--ways 5000", "available")]   // the size check comes before the data: 5000 ways cannot fit anyway
    [InlineData(new[] { "glyphs-5w1s", "--shots", "15", "--query-shots", "10" }, "images", "need 25")]
    public void Bad_command_lines_exit_2_with_one_line(string[] args, string names, string accepted)
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-bad-" + Guid.NewGuid().ToString("N"));
        var result = ExperimentProcess.Run([.. args, .. args.Length > 0 && !args[0].StartsWith('-') && args[0] != "nope" ? new[] { "--output", output } : []]);

        Assert.Equal(2, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(names, lines[0]);
        Assert.Contains(accepted, lines[0]);
        Assert.DoesNotContain("   at ", result.Error + result.Output);
        Assert.False(Directory.Exists(output), "nothing is written for bad input");
    }

    [Fact]
    public void Unknown_configuration_key_from_the_environment_exits_2()
    {
        var result = ExperimentProcess.Run(["sine-maml"], new Dictionary<string, string> { ["Experiments__sine-maml__InnerStep"] = "3" });
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown configuration key 'Experiments:sine-maml:InnerStep'", result.Error);
        Assert.Contains("InnerSteps", result.Error);
    }

    [Fact]
    public void Help_lists_the_options_and_exits_0()
    {
        var result = ExperimentProcess.Run(["sine-maml", "--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--inner-steps", result.Output);
        Assert.Contains("--first-order", result.Output);
    }

    [Fact]
    public async Task Ctrl_C_stops_at_an_iteration_boundary_and_writes_the_run_folder()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-stop-" + Guid.NewGuid().ToString("N"));
        using var process = ExperimentProcess.Start(["sine-maml", "--iterations", "1000000", "--log-every", "50", "--output", output]);
        var error = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null && !line.Contains("iteration 50/", StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        var rest = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "the run stops within the shutdown timeout");

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("stopped after", rest);
        var summary = Directory.GetFiles(output, "summary.md", SearchOption.AllDirectories).Single();
        Assert.Contains("outcome: **stopped**", File.ReadAllText(summary));
        Assert.DoesNotContain("   at ", await error);
        Directory.Delete(output, recursive: true);
    }
}
