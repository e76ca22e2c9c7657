using Meta.Evaluation;
using Meta.Hosting;
using Meta.Tasks;
using SkiaSharp;

namespace Meta.Tests.Runtime;

/// <summary>
/// Charts that tell the truth: a diverged cell does not flatten a heatmap, a comparison does not draw failed runs as
/// bars. Set META_PLOT_DIR to keep the PNGs for a look.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PlotTests : IDisposable
{
    private readonly string _folder = Environment.GetEnvironmentVariable("META_PLOT_DIR") is { Length: > 0 } keep
        ? keep
        : Path.Combine(Path.GetTempPath(), "meta-plots-" + Guid.NewGuid().ToString("N"));

    public PlotTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("META_PLOT_DIR") is not { Length: > 0 }) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void A_diverged_cell_is_marked_and_the_others_keep_their_colours()
    {
        var (nx, ny) = (25, 18);
        var values = new double[nx * ny];
        for (var i = 0; i < nx; i++)
            for (var j = 0; j < ny; j++) values[i * ny + j] = 0.05 + 0.02 * i + 0.01 * j;
        values[3 * ny + 4] = 5e16;
        values[10 * ny + 2] = double.NaN;
        var parameters = new[] { new TaskParameter("amplitude", "A", 0.1, 5), new TaskParameter("phase", "φ", 0, Math.PI) };
        var path = Path.Combine(_folder, "heatmap-diverged.png");
        var diverged = values.Select(v => v > 1e3).ToArray();   // the task far above its start, as GridValidationResult.IsDiverged flags it
        Heatmaps.WriteGrid(path, values, [nx, ny], parameters, [0.1, 5], [0, Math.PI], "validation loss (mean 1.1e+14, worst 10 % 1.1e+15)", "loss", losses: true,
            diverged: diverged);

        using var bitmap = SKBitmap.Decode(path);
        var colours = new HashSet<SKColor>();
        var red = 0;
        for (var x = 0; x < bitmap.Width; x += 2)
            for (var y = 0; y < bitmap.Height; y += 2)
            {
                var c = bitmap.GetPixel(x, y);
                colours.Add(c);
                if (c is { Red: 255, Green: 0, Blue: 0 }) red++;
            }
        Assert.True(red > 50, $"diverged cells are drawn red ({red} red pixels sampled)");
        Assert.True(colours.Count > 100, $"the other cells spread over the colour map ({colours.Count} colours)");
    }

    [Fact]
    public void A_comparison_draws_the_median_where_test_tasks_diverged()
    {
        static RunResult Run(string name, double mse, double median, int diverged) => new(name, "maml", "completed", 100, 1, 100, 2, 300, 320,
            new Dictionary<string, string>(), [new EvaluationRow(Models.MetaLearned, 10, 10, mse, 0.01, 600, median, diverged)], new Dictionary<string, double>());
        var path = Path.Combine(_folder, "comparison-diverged.png");
        Comparison.Chart(path, ["cmp-maml", "cmp-meta-sgd"],
            [Run("cmp-maml", 0.4, 0.3, 0), Run("cmp-maml", 0.5, 0.35, 0), Run("cmp-meta-sgd", 2.5e24, 0.2, 3), Run("cmp-meta-sgd", 0.3, 0.25, 0)]);
        using var bitmap = SKBitmap.Decode(path);
        var orange = 0;
        for (var x = 0; x < bitmap.Width; x += 2)
            for (var y = 0; y < bitmap.Height; y += 2)
                if (bitmap.GetPixel(x, y) is { Red: 255, Green: 140, Blue: 0 }) orange++;
        Assert.True(orange > 100, $"the diverging experiment's bar is the orange median bar ({orange} orange pixels sampled)");
    }

    [Fact]
    public void A_comparison_marks_an_experiment_whose_runs_all_failed_instead_of_drawing_a_zero_bar()
    {
        static RunResult Run(string name, double mse) => new(name, "maml", "completed", 100, 1, 100, 2, 300, 320,
            new Dictionary<string, string>(), [new EvaluationRow(Models.MetaLearned, 10, 10, mse, 0.01, 600)], new Dictionary<string, double>());
        var path = Path.Combine(_folder, "comparison.png");
        Comparison.Chart(path, ["cmp-maml", "seed004-maml-enhanced", "cmp-meta-sgd", "cmp-reptile"],
            [Run("cmp-maml", 0.4), Run("cmp-maml", 0.5), Run("seed004-maml-enhanced", double.PositiveInfinity), Run("cmp-reptile", 0.2)]);
        Assert.True(new FileInfo(path).Length > 10_000);
    }
}
