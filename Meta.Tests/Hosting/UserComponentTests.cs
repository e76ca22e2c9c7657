using Meta.Algorithms;
using Meta.Experiments.Custom;
using Meta.Functional;
using static Meta.Tests.Runtime.TorchFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Hosting;

/// <summary>
/// The worked example of user-defined parts (Meta.Experiments/Custom/Lines.cs, quoted in README): its algorithm agrees
/// with the built-in one it re-implements, both example experiments run through the real program, and README shows the
/// file as it is compiled.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class UserComponentTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Hand_written_first_order_maml_equals_the_built_in_one(int steps)
    {
        using var scope = NewDisposeScope();
        var (network, theta, episode) = SmallProblem(tasks: 4);
        var context = new AlgorithmContext(network, TaskLoss.MeanSquaredErrorLoss, null!);
        var user = new HandWrittenFomaml { InnerSteps = steps, InnerLr = 0.05 }.Create(context);
        var builtIn = new MamlAlgorithm { InnerSteps = steps, InnerLr = 0.05, FirstOrder = true }.Create(context);
        var a = user.MetaStep(theta, episode);
        var b = builtIn.MetaStep(theta, episode);
        Assert.True(RelativeError(Values(a.Gradient), Values(b.Gradient)) <= 1e-12);
        Assert.True(RelativeError(Values(a.TaskLosses), Values(b.TaskLosses)) <= 1e-12);
        var fastA = user.Adapt(theta, episode.SupportX, episode.SupportY, steps);
        var fastB = builtIn.Adapt(theta, episode.SupportX, episode.SupportY, steps);
        Assert.True(fastA.allclose(fastB, rtol: 1e-12, atol: 1e-14));
    }

    [Fact]
    public void Fourier_network_is_linear_in_its_coefficients()
    {
        using var scope = NewDisposeScope();
        var network = new FourierNetwork { Frequencies = 2 }.Create(new NetworkContext(new TaskShape([1], 1, false), 0));
        Assert.Equal(6, network.Layout.Count);
        var x = tensor(new double[] { 0.0, 1.0, -2.0 }).view(1, 3, 1);
        var w = tensor(new double[] { 1, 2, 0, 0, 0, 0 }).view(1, 6);      // 1 + 2x
        Assert.Equal([1.0, 3.0, -3.0], Values(network.Forward(w, x)));
    }

    [Theory]
    [InlineData("lines-maml")]
    [InlineData("lines-fourier")]
    public void Example_experiments_with_user_parts_run_through_the_program(string experiment)
    {
        var output = Directory.CreateTempSubdirectory("meta-user-").FullName;
        try
        {
            var result = ExperimentProcess.Run([experiment, "--iterations", "40", "--test-tasks", "20", "--output", output]);
            Assert.True(result.ExitCode == 0, result.Output + result.Error);
            var summary = Directory.GetFiles(output, "summary.md", SearchOption.AllDirectories).Single();
            var text = File.ReadAllText(summary);
            Assert.Contains("| meta-learned | 5 |", text, StringComparison.Ordinal);
            Assert.Contains("| from scratch | 5 |", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void User_options_have_flags_with_their_checks()
    {
        var result = ExperimentProcess.Run(["lines-fourier", "--frequencies", "0"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--frequencies", result.Error, StringComparison.Ordinal);
        var range = ExperimentProcess.Run(["lines-maml", "--min-slope", "3", "--max-slope", "1"]);
        Assert.Equal(2, range.ExitCode);
        Assert.Contains("--max-slope", range.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_quotes_the_example_file_as_compiled()
    {
        var root = RepositoryRoot();
        var source = File.ReadAllText(Path.Combine(root, "Meta.Experiments", "Custom", "Lines.cs")).ReplaceLineEndings("\n").Trim();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        Assert.Contains(source, readme, StringComparison.Ordinal);
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
