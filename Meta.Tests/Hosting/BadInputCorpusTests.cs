using Meta.Experiments;
using Meta.Experiments.Algorithms;
using Meta.Experiments.Seed000;
using Meta.Hosting;

namespace Meta.Tests.Hosting;

/// <summary>
/// The bad-input corpus, table-driven and in-process (through <see cref="MetaHost"/>'s own error boundary, with the
/// folder holding appsettings.json given): every entry ends as exit code 2, exactly one stderr line that names what is
/// wrong, no stack trace, and nothing written under --output. Each entry is refused before TorchSharp or the run folder.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class BadInputCorpusTests : IDisposable
{
    private static readonly IReadOnlyList<ExperimentDescriptor> Experiments =
        [SineMaml.Descriptor, CompareReptile.Descriptor, CompareMaml.Descriptor, TaskWeighted2DPq.Descriptor];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-corpus-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Theory]
    // Choice options take their names only: not the enum's numbers, negative numbers or comma lists.
    [InlineData("--meta-optimizer 1", "--meta-optimizer", "adam, sgd")]
    [InlineData("--meta-optimizer -1", "--meta-optimizer", "adam, sgd")]
    [InlineData("--meta-optimizer adam,sgd", "--meta-optimizer", "adam, sgd")]
    [InlineData("--meta-optimizer 0x1", "--meta-optimizer", "adam, sgd")]
    [InlineData("--meta-lr-schedule 2", "--meta-lr-schedule", "cosine")]
    [InlineData("--meta-lr-schedule constant,cosine", "--meta-lr-schedule", "cosine")]
    [InlineData("--init 1", "--init", "finn")]
    [InlineData("--init finn,py-torch", "--init", "finn")]
    [InlineData("--on-non-finite 1", "--on-non-finite", "skip")]
    [InlineData("--on-non-finite -0", "--on-non-finite", "skip")]
    [InlineData("--distributed 1", "--distributed", "mpi")]
    [InlineData("--activation 0", "--activation", "relu")]
    // Numbers: finite and within float32's range; a positive rate stays positive as a float32.
    [InlineData("--inner-lr 1e39", "--inner-lr", "float32")]
    [InlineData("--inner-lr -1e39", "--inner-lr", "float32")]
    [InlineData("--inner-lr 1e400", "--inner-lr", "float32")]
    [InlineData("--inner-lr NaN", "--inner-lr", "float32")]
    [InlineData("--inner-lr Infinity", "--inner-lr", "float32")]
    [InlineData("--inner-lr 1e-50", "--inner-lr", "1.4e-45")]
    [InlineData("--meta-lr 3.5e38", "--meta-lr", "float32")]
    [InlineData("--meta-lr 1e-46", "--meta-lr", "1.4e-45")]
    [InlineData("--amplitude-max 1e39", "--amplitude-max", "float32")]
    [InlineData("--inner-lr 0,01", "--inner-lr", "0.001")]
    [InlineData("--inner-lr 0x10", "--inner-lr", "0.001")]
    [InlineData("--inner-lr ''", "--inner-lr", "empty")]
    // Whole numbers: in range for their type, and sizes that fit in memory.
    [InlineData("--iterations 2147483648", "--iterations", "whole number")]
    [InlineData("--iterations 1.5", "--iterations", "whole number")]
    [InlineData("--iterations 1e3", "--iterations", "whole number")]
    [InlineData("--iterations -1", "--iterations", "≥ 1")]
    [InlineData("--seed abc", "--seed", "whole number")]
    [InlineData("--seed 9223372036854775808", "--seed", "whole number")]
    [InlineData("--shots 2147483647", "--shots 2147483647", "available")]
    [InlineData("--query-shots 2147483647", "--query-shots 2147483647", "available")]
    [InlineData("--meta-batch 2147483647", "--meta-batch 2147483647", "available")]
    [InlineData("--inner-steps 2147483647", "--inner-steps 2147483647", "available")]
    [InlineData("--eval-tasks 2147483647", "--eval-tasks 2147483647", "available")]
    [InlineData("--eval-points 2147483647", "--eval-points 2147483647", "available")]
    [InlineData("--hidden 2147483647", "--hidden", "narrower")]
    [InlineData("--hidden 100000,100000", "--hidden", "narrower")]
    [InlineData("--hidden 40,x", "--hidden", "commas")]
    [InlineData("--threads 4096", "--threads", "1 to 256")]
    [InlineData("--threads 257", "--threads", "1 to 256")]
    [InlineData("--threads 0", "--threads", "≥ 1")]
    [InlineData("--parallelism 1", "--parallelism", "operations, tasks")]
    [InlineData("--parallelism threads", "--parallelism", "operations, tasks")]
    [InlineData("--parallelism tasks,operations", "--parallelism", "operations, tasks")]
    [InlineData("--threads 300 --parallelism tasks", "--threads", "1 to 256")]
    // Booleans.
    [InlineData("--first-order yes", "--first-order", "true or false")]
    [InlineData("--first-order 1", "--first-order", "true or false")]
    // The command line's own shape.
    [InlineData("--iterations --seed 3", "--iterations needs a value before --seed", "whole number")]
    [InlineData("--iterations", "--iterations needs a value", "whole number")]
    [InlineData("-x", "unknown option '-x'", "--help")]
    [InlineData("--bogus 1", "--bogus", "--help")]
    [InlineData("--resume ''", "--resume", "'latest'")]
    [InlineData("--output ''", "--output", "empty")]
    public void A_bad_command_line_is_one_line_and_exit_2(string arguments, string names, string accepted)
    {
        var (code, error, output) = Run(["sine-maml", .. Split(arguments)]);
        AssertRefused(code, error, output, names, accepted);
    }

    [Theory]
    [InlineData("cmp-reptile --meta-optimizer 1", "--meta-optimizer", "sgd")]
    [InlineData("cmp-reptile --inner-optimizer 0", "--inner-optimizer", "adam")]
    [InlineData("cmp-reptile --adam-beta1 1e39", "--adam-beta1", "float32")]
    [InlineData("cmp-maml --meta-lr-schedule cosine --meta-lr-min 0.01", "--meta-lr-min", "--meta-lr")]
    [InlineData("tw2d-pq --sampler 1", "--sampler", "importance-delta")]
    [InlineData("tw2d-pq --epsilon-start 1e39", "--epsilon-start", "float32")]
    [InlineData("tw2d-pq --meta-batch 2147483647", "--meta-batch 2147483647", "available")]
    [InlineData("nope", "unknown experiment 'nope'", "without arguments")]   // no arguments list the experiments (exit 0): CommandLineTests
    public void Bad_command_lines_of_other_experiments_are_one_line_and_exit_2(string arguments, string names, string accepted)
    {
        var (code, error, output) = Run(Split(arguments));
        AssertRefused(code, error, output, names, accepted);
    }

    [Theory]
    // Files that are not JSON, or not one object with unique keys.
    [InlineData("{ \"Experiments\": {", "appsettings.json", "JSON")]
    [InlineData("", "appsettings.json", "JSON")]
    [InlineData("   ", "appsettings.json", "JSON")]
    [InlineData("{\"a\": 1, \"a\": 2}", "duplicate key 'a'", "unique keys")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"Iterations\": 1, \"Iterations\": 2}}}", "duplicate key", "unique keys")]
    [InlineData("[1, 2]", "appsettings.json", "object")]
    [InlineData("5", "appsettings.json", "JSON")]
    [InlineData("{\"Experiments\": 5}", "Experiments", "section")]
    // Wrong-typed options: arrays, objects, empty objects and null are not one value.
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": [1, 2]}}}", "Experiments:sine-maml:MetaBatch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": {\"a\": 1}}}}", "Experiments:sine-maml:MetaBatch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": {}}}}", "Experiments:sine-maml:MetaBatch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": null}}}", "MetaBatch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": \"many\"}}}", "--meta-batch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaBatch\": 2.5}}}", "--meta-batch", "whole number")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"MetaOptimizer\": 1}}}", "--meta-optimizer", "adam, sgd")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"InnerLr\": 1e39}}}", "--inner-lr", "float32")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"FirstOrder\": 1}}}", "--first-order", "true or false")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"Output\": [\"a\"]}}}", "Experiments:sine-maml:Output", "one value")]
    [InlineData("{\"Experiments\": {\"sine-maml\": {\"InnerStep\": 3}}}", "unknown configuration key 'Experiments:sine-maml:InnerStep'", "InnerSteps")]
    [InlineData("{\"Experiments\": {\"sine-maml\": 5}}", "Experiments:sine-maml", "section of options")]
    // Unknown experiments, and the host's own settings.
    [InlineData("{\"Experiments\": {\"sine-mam\": {\"Iterations\": 3}}}", "unknown experiment 'sine-mam'", "sine-maml")]
    [InlineData("{\"Experiments\": {\"sine-mam\": {}}}", "unknown experiment 'sine-mam'", "sine-maml")]
    [InlineData("{\"Telemetry\": {\"Console\": \"abc\"}}", "Telemetry:Console", "true or false")]
    [InlineData("{\"Telemetry\": {\"Console\": 1}}", "Telemetry:Console", "true or false")]
    [InlineData("{\"OTEL_EXPORTER_OTLP_ENDPOINT\": \"localhost:4317\"}", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://")]
    [InlineData("{\"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT\": \"ftp://x\"}", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://")]
    public void A_bad_appsettings_json_is_one_line_and_exit_2(string json, string names, string accepted)
    {
        var (code, error, output) = Run(["sine-maml", "--iterations", "2"], json);
        AssertRefused(code, error, output, names, accepted);
    }

    [Fact]
    public void Version_prints_the_version_and_exits_0()
    {
        var (code, error, output) = Run(["--version"]);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    private void AssertRefused(int code, string error, string output, string names, string accepted)
    {
        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(names, line, StringComparison.Ordinal);
        Assert.Contains(accepted, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "out")), "nothing is written for bad input");
    }

    private (int Code, string Error, string Output) Run(string[] args, string appsettings = "{}")
    {
        var content = Path.Combine(_root, "content");
        Directory.CreateDirectory(content);
        File.WriteAllText(Path.Combine(content, "appsettings.json"), appsettings);
        var output = new StringWriter();
        var error = new StringWriter();
        string[] withOutput = args.Length > 0 && Experiments.Any(e => e.Name == args[0]) && !args.Contains("--output")
            ? [.. args, "--output", Path.Combine(_root, "out")]
            : args;
        var code = MetaHost.RunAsync(withOutput, Experiments, configure: null, content, output, error, CancellationToken.None).GetAwaiter().GetResult();
        return (code, error.ToString(), output.ToString());
    }

    private static string[] Split(string arguments) =>
        [.. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "''" ? "" : a)];
}
