using Meta.Tests.Runtime.Images;

namespace Meta.Tests.Hosting;

/// <summary>The experiments over users' own data (csv-maml, folder-maml) through the real program.</summary>
[Collection(TorchCollection.Name)]
public sealed class OwnDataExperimentTests : IDisposable
{
    private readonly TempFolder _root = new();

    public void Dispose() => _root.Dispose();

    private static string Summary(string output, string experiment)
    {
        var runs = Directory.GetDirectories(Path.Combine(output, experiment));
        Assert.Single(runs);
        return File.ReadAllText(Path.Combine(runs[0], "summary.md"));
    }

    [Fact]
    public void Csv_maml_trains_on_the_shipped_sample_and_reports_held_out_tasks()
    {
        var output = _root.Combine("runs");
        var result = ExperimentProcess.Run(["csv-maml", "--iterations", "60", "--log-every", "30", "--output", output]);
        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        Assert.Contains("evaluating on 5 held-out tasks", result.Output);
        var summary = Summary(output, "csv-maml");
        Assert.Contains("| meta-learned | 5 |", summary);
        Assert.Contains("| from scratch | 5 |", summary);
        Assert.Contains("5 held-out tasks of 24", summary);
    }

    [Fact]
    public void Folder_maml_trains_on_a_folder_of_pngs()
    {
        var data = _root.Combine("images");
        ImageFolders.Write(data, ImageFolders.Names(8), perClass: 3, side: 10);
        var output = _root.Combine("runs");
        var result = ExperimentProcess.Run(["folder-maml", "--data", data, "--ways", "3", "--query-shots", "2", "--image-size", "8",
            "--filters", "4", "--blocks", "2", "--iterations", "10", "--meta-batch", "2", "--eval-episodes", "10", "--test-fraction", "0.4", "--output", output]);
        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        var summary = Summary(output, "folder-maml");
        Assert.Contains("| meta-learned | 1 |", summary);
        Assert.Contains("10 fixed test episodes", result.Output);
    }

    [Fact]
    public void A_bad_file_is_one_line_exit_2_and_nothing_written()
    {
        var csv = _root.Combine("bad.csv");
        File.WriteAllText(csv, "task,x,y\na,1,2\na,oops,3\n");
        var images = _root.Combine("images");
        ImageFolders.Write(images, ImageFolders.Names(6), perClass: 8, side: 4);
        File.WriteAllText(Path.Combine(images, "c01", "zz.png"), "not a png");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["csv-maml", "--data", csv], "line 3, column 'x': 'oops' is not a number"),
            (["folder-maml", "--data", images, "--ways", "3", "--test-fraction", "0.5"], "zz.png"),
            (["folder-maml", "--data", _root.Combine("absent")], "point --data at the folder"),
        })
        {
            var output = _root.Combine("bad-runs");
            var result = ExperimentProcess.Run([.. args, "--output", output]);
            Assert.Equal(2, result.ExitCode);
            var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.Contains(expected, lines[0]);
            Assert.DoesNotContain("   at ", result.Error + result.Output);
            Assert.False(Directory.Exists(output), "nothing is written for bad input");
        }
    }
}
