using System.Globalization;
using System.Text;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks.Data;
using Meta.Tasks.Images;
using Meta.Tests.Runtime.Algorithms;
using Meta.Tests.Runtime.Images;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Data;

[Collection(TorchCollection.Name)]
public sealed class CsvRegressionTasksTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Writes a CSV; returns its path.</summary>
    private string Csv(string text, string name = "data.csv")
    {
        var path = _folder.Combine(name);
        File.WriteAllText(path, text, Encoding.UTF8);
        return path;
    }

    /// <summary>Tasks t00…: x = 100·task + row (unique per row), y = task index; <paramref name="rows"/> rows each.</summary>
    private string Labelled(int tasks, int rows)
    {
        var sb = new StringBuilder("task,x,y\n");
        for (var t = 0; t < tasks; t++)
            for (var r = 0; r < rows; r++)
                sb.Append(CultureInfo.InvariantCulture, $"t{t:00},{100 * t + r},{t}\n");
        return Csv(sb.ToString());
    }

    private static CsvRegressionTasks Prepared(string path, int shots = 3, int queries = 4, double fraction = 0.2, long seed = 1,
        string inputs = "", string targets = "", string taskColumn = "task")
    {
        var family = new CsvRegressionTasks { Data = path, Shots = shots, QueryShots = queries, TestFraction = fraction, Inputs = inputs, Targets = targets, TaskColumn = taskColumn };
        family.Prepare(new FamilyContext(seed));
        return family;
    }

    [Fact]
    public void Draw_gives_task_batched_episodes_of_distinct_rows_of_one_training_task()
    {
        using var scope = NewDisposeScope();
        using var family = Prepared(Labelled(tasks: 10, rows: 12));
        Assert.Equal(new TaskShape([1], 1, Classification: false).ToString(), family.Shape.ToString());
        Assert.Equal(8, family.TrainTasks.Count);
        Assert.Equal(2, family.TestTasks.Count);
        using var g = new Generator(7);
        var episode = family.Draw(6, g);
        Assert.Equal(new long[] { 6, 3, 1 }, episode.SupportX.shape);
        Assert.Equal(new long[] { 6, 3, 1 }, episode.SupportY.shape);
        Assert.Equal(new long[] { 6, 4, 1 }, episode.QueryX.shape);
        Assert.Equal(new long[] { 6, 4, 1 }, episode.QueryY.shape);
        Assert.Equal(ScalarType.Float32, episode.SupportX.dtype);
        var x = cat([episode.SupportX, episode.QueryX], 1).squeeze(2).data<float>().ToArray();
        var y = cat([episode.SupportY, episode.QueryY], 1).squeeze(2).data<float>().ToArray();
        var training = family.TrainTasks.Select(n => int.Parse(n[1..], CultureInfo.InvariantCulture)).ToHashSet();
        for (var t = 0; t < 6; t++)
        {
            var rows = x.Skip(7 * t).Take(7).ToArray();
            var task = (int)y[7 * t];
            Assert.Contains(task, training);
            Assert.All(y.Skip(7 * t).Take(7), v => Assert.Equal(task, v));
            Assert.All(rows, v => Assert.Equal(task, (int)v / 100));
            Assert.Equal(7, rows.Distinct().Count()); // without replacement: support and query share no row
        }

        using var again = new Generator(7);
        Assert.True(family.Draw(6, again).QueryX.Same(episode.QueryX));
    }

    [Fact]
    public void The_held_out_tasks_depend_only_on_the_names_and_the_fraction()
    {
        var path = Labelled(tasks: 10, rows: 8);
        using var a = Prepared(path, seed: 1);
        using var b = Prepared(path, seed: 99);
        Assert.Equal(a.TestTasks, b.TestTasks);

        // The same rows in another order: the same split.
        var lines = File.ReadAllLines(path);
        var shuffled = Csv(string.Join('\n', lines.Take(1).Concat(lines.Skip(1).Reverse())), "shuffled.csv");
        using var c = Prepared(shuffled);
        Assert.Equal(a.TestTasks.Order(), c.TestTasks.Order());

        using var half = Prepared(path, fraction: 0.5);
        Assert.Equal(5, half.TestTasks.Count);
        Assert.Equal(1, DataFiles.HeldOutCount(10, 0.01));
        Assert.Equal(9, DataFiles.HeldOutCount(10, 0.99));
        Assert.Empty(a.TrainTasks.Intersect(a.TestTasks));
    }

    [Theory]
    [InlineData("task,x1,x2,y,note", "", "", "x1,x2", "y")]
    [InlineData("task,a,b,c", "", "", "a,b", "c")]
    [InlineData("task,x,y1,y2", "", "", "x", "y1,y2")]
    [InlineData("task,a,b,c", "c", "a", "c", "a")]
    [InlineData("task,a,b,c", "a", "", "a", "c")]
    [InlineData("task,a,b,c", "", "a", "b,c", "a")]
    public void Columns_default_to_x_and_y_columns_else_the_last_column_is_the_target(string header, string inputs, string targets, string expectInputs, string expectTargets)
    {
        var width = header.Split(',').Length;
        var sb = new StringBuilder(header + "\n");
        for (var t = 0; t < 3; t++)
            for (var r = 0; r < 4; r++)
                sb.Append("t").Append(t).Append(string.Concat(Enumerable.Range(1, width - 1).Select(i => "," + (i + r)))).Append('\n');
        var table = CsvTaskTable.Load(Csv(sb.ToString()), "task", inputs, targets);
        Assert.Equal(expectInputs, string.Join(',', table.InputColumns));
        Assert.Equal(expectTargets, string.Join(',', table.TargetColumns));
        Assert.Equal(3, table.Tasks.Count);
        Assert.Equal(12, table.Rows);
    }

    [Fact]
    public void Quoted_cells_blank_lines_and_a_named_task_column_are_read()
    {
        var path = Csv("\"x\", id ,y\n\n1.5,\"task, one\",2e-1\n-3,\"task, one\",4\n1,\"two \"\"quoted\"\"\",2\n1,\"two \"\"quoted\"\"\",2\n");
        var table = CsvTaskTable.Load(path, "id", "", "");
        Assert.Equal(["task, one", "two \"quoted\""], table.Tasks);
        Assert.Equal([1.5f, -3f, 1f, 1f], table.Inputs);
        Assert.Equal([0.2f, 4f, 2f, 2f], table.Targets);
    }

    public static TheoryData<string, string, string[]> BadFiles => new()
    {
        { "missing", "", ["does not exist", "--data", "task,x,y"] },
        { "empty", "", ["is empty", "--data", "header"] },
        { "blank", "\n  \n", ["is empty", "--data"] },
        { "header only", "task,x,y\n", ["no rows", "--data"] },
        { "no task column", "id,x,y\na,1,2\n", ["no task column 'task'", "--task-column", "id, x, y"] },
        { "non-numeric", "task,x,y\na,1,2\na,2,abc\n", ["line 3", "column 'y'", "'abc' is not a number", "--data"] },
        { "infinite", "task,x,y\na,1,2\na,Infinity,1\n", ["line 3", "column 'x'", "not a number"] },
        { "short row", "task,x,y\na,1\n", ["line 2 has 2 cells", "the header has 3"] },
        { "few rows", "task,x,y\n" + string.Concat(Enumerable.Range(0, 7).Select(i => $"a,{i},1\n")) + "small,1,1\nsmall,2,2\n", ["task 'small' has 2 rows", "--shots 3", "--query-shots 4", "need at least 7"] },
        { "one task", "task,x,y\n" + string.Concat(Enumerable.Range(0, 7).Select(i => $"a,{i},1\n")), ["has 1 task", "at least 2"] },
        { "only a task column", "task\na\n", ["one input and one target"] },
        { "semicolons", "task;x;y\na;1;2\n", ["no task column 'task'", "separated by commas"] },
        { "duplicate column", "task,x,x\na,1,2\n", ["names column 'x' twice"] },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_are_one_line_dataset_errors_naming_what_is_wrong(string what, string text, string[] expected)
    {
        var path = what == "missing" ? _folder.Combine("absent.csv") : Csv(text);
        var error = Assert.Throws<DatasetException>(() => Prepared(path));
        Assert.DoesNotContain('\n', error.Message);
        if (what != "missing") Assert.Contains(path, error.Message);
        foreach (var part in expected) Assert.Contains(part, error.Message);
    }

    [Theory]
    [InlineData("q", "", "--inputs: column 'q' is not in the header")]
    [InlineData("", "task", "--targets: column 'task' is the task column")]
    [InlineData("x", "x", "'x' is both an input and a target")]
    public void Bad_column_options_are_option_errors(string inputs, string targets, string expected)
    {
        var path = Labelled(tasks: 3, rows: 8);
        var error = Assert.Throws<OptionException>(() => Prepared(path, inputs: inputs, targets: targets));
        Assert.Contains(expected, error.Message);
        var fraction = Assert.Throws<OptionException>(() => Prepared(path, fraction: 1));
        Assert.Contains("--test-fraction", fraction.Message);
    }

    /// <summary>Linear tasks y = a·x + b (a in [−2, 2], b in [−1, 1]), 30 rows each, x in [−2, 2].</summary>
    private string LinearTasks(int tasks, int seed = 3)
    {
        var random = new Random(seed);
        var sb = new StringBuilder("task,x,y\n");
        for (var t = 0; t < tasks; t++)
        {
            var (a, b) = (4 * random.NextDouble() - 2, 2 * random.NextDouble() - 1);
            for (var r = 0; r < 30; r++)
            {
                var x = 4 * random.NextDouble() - 2;
                sb.Append(CultureInfo.InvariantCulture, $"line{t},{x:R},{a * x + b:R}\n");
            }
        }
        return Csv(sb.ToString(), "lines.csv");
    }

    [Fact]
    public void Maml_meta_trained_on_the_file_lowers_the_query_loss_and_beats_scratch_on_held_out_tasks()
    {
        using var scope = NewDisposeScope();
        using var family = Prepared(LinearTasks(40), shots: 5, queries: 10, fraction: 0.25);
        var network = new MlpNetwork { Hidden = [40, 40] }.Create(new NetworkContext(family.Shape, 0));
        var algorithm = new MamlAlgorithm { InnerSteps = 1, InnerLr = 0.05 }.Create(new AlgorithmContext(network, family.Loss, null!));
        using var g = new Generator(5);
        using var theta = network.Initialize(WeightInit.Finn, g);
        using var meta = algorithm.InitialMetaParameters(theta);
        using var optimiser = new Meta.Training.Adam(meta, 0.01);
        var losses = new List<double>();
        for (var i = 0; i < 80; i++)
        {
            using var iteration = NewDisposeScope();
            var step = algorithm.MetaStep(meta, family.Draw(10, g));
            optimiser.Step(step.Gradient);
            losses.Add(step.MetaLoss.ToDouble());
        }
        output.WriteLine($"meta-loss: first 10 {losses.Take(10).Average():0.000}, last 10 {losses.TakeLast(10).Average():0.000}");
        AlgorithmFixtures.AssertFalls(losses, 0.5, window: 10);

        var sgd = new Maml(network, family.Loss, 1, 0.05, firstOrder: true);
        var report = family.Score(algorithm, meta, sgd, theta, steps: 1, seed: 11);
        Assert.Equal(10, family.TestTasks.Count);
        Assert.Equal(6, report.Rows.Count); // 2 models × steps {1, 5, 10}
        var learned = report.Find(Models.MetaLearned, 5, 5)!;
        var scratch = report.Find(Models.Scratch, 5, 5)!;
        output.WriteLine(report.ToMarkdown());
        Assert.Equal(10, learned.Tasks);
        Assert.True(learned.Mean < scratch.Mean, $"meta-learned {learned.Mean:0.000} should beat scratch {scratch.Mean:0.000}");
        Assert.Equal(learned.Mean, family.Score(algorithm, meta, sgd, theta, steps: 1, seed: 11).Find(Models.MetaLearned, 5, 5)!.Mean);
    }
}
