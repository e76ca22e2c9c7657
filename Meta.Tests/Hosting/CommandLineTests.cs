using System.Diagnostics;

namespace Meta.Tests.Hosting;

/// <summary>Bad input: one line naming what is wrong and what is accepted, exit code 2, no stack trace, nothing written.</summary>
[Collection(TorchCollection.Name)]
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "nope" }, "unknown experiment 'nope'", "without arguments")]
    [InlineData(new[] { "sine-maml", "--bogus", "1" }, "--bogus", "--help")]
    [InlineData(new[] { "sine-maml", "--inner-steps", "-1" }, "--inner-steps", "≥ 1")]
    [InlineData(new[] { "sine-maml", "--inner-steps", "0" }, "--inner-steps", "≥ 1")]
    [InlineData(new[] { "sine-maml", "--inner-lr", "abc" }, "--inner-lr", "'abc'")]
    [InlineData(new[] { "sine-maml", "--meta-lr", "0" }, "--meta-lr", "> 0")]
    [InlineData(new[] { "sine-maml", "--init", "xavier" }, "--init", "finn")]
    [InlineData(new[] { "sine-maml", "--amplitude-min", "3", "--amplitude-max", "1" }, "--amplitude-min", "--amplitude-max")]
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
    [InlineData(new[] { "sine-maml", "--metrics-port", "70000" }, "--metrics-port", "1 to 65535")]
    [InlineData(new[] { "glyphs-5w1s", "--fonts", "/nonexistent/fonts" }, "--fonts", "*.ttf")]
    [InlineData(new[] { "glyphs-5w1s", "--ways", "5000" }, "--ways 5000", "available")]   // the size check comes before the data: 5000 ways cannot fit anyway
    public void Bad_command_lines_exit_2_with_one_line(string[] args, string names, string accepted) => ExpectBadInput(args, names, accepted);

    /// <summary>Checks that need the rendered glyph classes (DejaVu fonts) to count them.</summary>
    [SkippableTheory]
    [InlineData(new[] { "glyphs-5w1s", "--shots", "15", "--query-shots", "10" }, "images", "need 25")]
    public void Bad_glyph_command_lines_exit_2_with_one_line(string[] args, string names, string accepted)
    {
        OptionalParts.RequireDejaVuFonts();
        ExpectBadInput(args, names, accepted);
    }

    private static void ExpectBadInput(string[] args, string names, string accepted)
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
    public void Help_lists_the_options_with_their_defaults_and_exits_0()
    {
        var result = ExperimentProcess.Run(["sine-maml", "--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--first-order", result.Output);
        Assert.Matches(@"--inner-steps <integer> +Inner steps S\. \[default: 1\]", result.Output);
        Assert.Matches(@"--iterations <integer> +.*\[default: 20000\]", result.Output);
        var glyphs = ExperimentProcess.Run(["glyphs-5w1s", "--help"]);
        Assert.Contains("[default: 1100]", glyphs.Output);
    }

    [Fact]
    public void No_arguments_list_every_experiment_with_a_distinct_description_and_exit_0()
    {
        var none = ExperimentProcess.Run([]);
        Assert.Equal(0, none.ExitCode);
        Assert.Equal("", none.Error);
        var rows = none.Output.Split('\n').Skip(1).TakeWhile(l => l.Trim().Length > 0).ToList();
        Assert.True(rows.Count >= 40, none.Output);
        Assert.Contains(rows, r => r.StartsWith("sine-maml ", StringComparison.Ordinal) && r.Contains(" maml ", StringComparison.Ordinal));
        var descriptions = rows.Select(r => r.Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1].Trim()).ToList();
        Assert.Equal(descriptions.Count, descriptions.Distinct().Count());
        Assert.Equal(none.Output, ExperimentProcess.Run(["list"]).Output);
    }

    [Fact]
    public void Help_names_the_commands_list_and_compare()
    {
        var help = ExperimentProcess.Run(["--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Matches(@"\n  list ", help.Output);
        Assert.Matches(@"\n  compare <experiment> ", help.Output);
        Assert.Contains("--metrics-port", help.Output);
        var compare = ExperimentProcess.Run(["compare", "--help"]);
        Assert.Equal(0, compare.ExitCode);
        Assert.Contains("--seeds <N>", compare.Output);
    }

    [Fact]
    public void A_boolean_flag_alone_means_true_and_the_environment_form_of_readme_is_read()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-flag-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = ExperimentProcess.Run(["sine-maml", "--first-order", "--iterations", "3", "--pretrain-iterations", "0", "--eval-tasks", "2", "--output", output],
                new Dictionary<string, string> { ["Experiments__sine-maml__InnerSteps"] = "2" });
            Assert.True(result.ExitCode == 0, result.Error);
            var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
            var config = File.ReadAllText(Path.Combine(folder, "config.json"));
            Assert.Contains("\"FirstOrder\": \"true\"", config);
            Assert.Contains("\"InnerSteps\": \"2\"", config);
            Assert.Contains("- where the time went: training ", File.ReadAllText(Path.Combine(folder, "summary.md")));
            Assert.True(new FileInfo(Path.Combine(folder, "fits.png")).Length > 10_000, "the MAML paper's figure of a few fitted test tasks");
            // index.html: well-formed (XHTML), self-contained plots, a link to the CSV beside it.
            using var reader = System.Xml.XmlReader.Create(Path.Combine(folder, "index.html"),
                new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Ignore });
            var page = System.Xml.Linq.XDocument.Load(reader);
            System.Xml.Linq.XNamespace html = "http://www.w3.org/1999/xhtml";
            var images = page.Descendants(html + "img").Select(i => (string)i.Attribute("src")!).ToList();
            Assert.Equal(2, images.Count);   // loss.png and fits.png
            Assert.All(images, src => Assert.StartsWith("data:image/png;base64,", src));
            Assert.Contains(page.Descendants(html + "a"), a => (string?)a.Attribute("href") == "metrics.csv");
            Assert.Contains(page.Descendants(html + "th"), th => th.Value == "model");
            var csv = File.ReadAllBytes(Path.Combine(folder, "metrics.csv"));
            Assert.Equal((byte)'i', csv[0]);   // no byte-order mark
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
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
