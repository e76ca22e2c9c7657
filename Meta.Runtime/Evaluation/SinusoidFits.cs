using System.Globalization;
using Meta.Algorithms;
using Meta.Tasks;
using Meta.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// The MAML paper's sinusoid figure (<c>fits.png</c>): for three fixed test tasks, the true curve, the K support points,
/// and the prediction before adaptation and after 1 and 10 steps — the meta-learned initialisation (adapted by its own
/// rule) in the top row, the jointly pre-trained one (plain SGD at α) below it.
/// </summary>
public static class SinusoidFits
{
    /// <summary>File name in the run folder.</summary>
    public const string FileName = "fits.png";

    private const int Tasks = 3;
    private const int Points = 200;
    private const int PanelWidth = 440;
    private const int PanelHeight = 320;
    private static readonly int[] Steps = [0, 1, 10];

    /// <summary>
    /// Draws the figure; returns false (writing nothing) when it cannot be drawn. <paramref name="pretrained"/> may be null
    /// (no baseline row). The tasks and support points come from <paramref name="seed"/>'s own stream.
    /// </summary>
    public static bool TryWrite(string path, SinusoidFamily family, IMetaAlgorithm algorithm, Tensor metaParameters,
        IMetaAlgorithm sgd, Tensor? pretrained, long seed, int shots)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(sgd);
        try
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(RunSeeds.Derive(seed, 5));
            var tasks = family.Sample(Tasks, generator);
            var xs = family.Inputs(Tasks, shots, generator);
            var ys = family.Target(tasks, xs);
            var grid = linspace(family.Ranges.InputMin, family.Ranges.InputMax, Points, dtype: family.DType)
                .view(1, Points, 1).expand(Tasks, Points, 1).contiguous();
            var truth = Rows(family.Target(tasks, grid));
            var gridX = Rows(grid)[0];
            var (supportX, supportY) = (Rows(xs), Rows(ys));
            var amplitudes = tasks.Amplitude.to_type(ScalarType.Float64).data<double>().ToArray();
            var phases = tasks.Phase.to_type(ScalarType.Float64).data<double>().ToArray();

            var models = new List<(string Name, IMetaAlgorithm Algorithm, Tensor Parameters)> { ("meta-learned", algorithm, metaParameters) };
            if (pretrained is not null) models.Add(("pre-trained", sgd, pretrained));
            using var surface = SKSurface.Create(new SKImageInfo(Tasks * PanelWidth, models.Count * PanelHeight));
            surface.Canvas.Clear(SKColors.White);
            for (var row = 0; row < models.Count; row++)
            {
                var (name, adapter, parameters) = models[row];
                var predictions = Steps.ToDictionary(s => s, s => Predict(adapter, parameters, xs, ys, grid, s));
                for (var t = 0; t < Tasks; t++)
                {
                    var plot = new ScottPlot.Plot();
                    var line = plot.Add.ScatterLine(gridX, truth[t]);
                    line.Color = ScottPlot.Colors.Black;
                    line.LineWidth = 2;
                    line.LegendText = "true";
                    var colours = new[] { ScottPlot.Colors.Gray, ScottPlot.Colors.DarkOrange, ScottPlot.Colors.SeaGreen };
                    for (var i = 0; i < Steps.Length; i++)
                    {
                        if (predictions[Steps[i]] is not { } predicted) continue;
                        var fit = plot.Add.ScatterLine(gridX, predicted[t]);
                        fit.Color = colours[i];
                        fit.LineWidth = 1.5f;
                        fit.LinePattern = Steps[i] == 0 ? ScottPlot.LinePattern.Dashed : ScottPlot.LinePattern.Solid;
                        fit.LegendText = Steps[i] == 0 ? "before adaptation" : $"after {Steps[i]} step{(Steps[i] == 1 ? "" : "s")}";
                    }
                    var points = plot.Add.ScatterPoints(supportX[t], supportY[t]);
                    points.Color = ScottPlot.Colors.Crimson;
                    points.MarkerSize = 7;
                    points.LegendText = $"K = {shots} support points";
                    plot.Title(string.Create(CultureInfo.InvariantCulture, $"{name}: A = {amplitudes[t]:0.00}, φ = {phases[t]:0.00}"));
                    plot.Axes.Title.Label.FontSize = 13;
                    plot.Axes.SetLimits(family.Ranges.InputMin, family.Ranges.InputMax, -family.Ranges.AmplitudeMax - 0.5, family.Ranges.AmplitudeMax + 1.5);
                    if (row == 0 && t == 0)
                    {
                        plot.ShowLegend(ScottPlot.Alignment.UpperLeft, ScottPlot.Orientation.Horizontal);
                        plot.Legend.FontSize = 9;
                    }
                    else plot.HideLegend();   // one legend for the figure
                    using var panel = SKBitmap.Decode(plot.GetImageBytes(PanelWidth, PanelHeight, ScottPlot.ImageFormat.Png));
                    surface.Canvas.DrawBitmap(panel, t * PanelWidth, row * PanelHeight);
                }
            }
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using (var file = File.Create(path)) png.SaveTo(file);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>Predictions [T][N] on the grid after <paramref name="steps"/> adaptation steps; null if the algorithm cannot take 0 steps.</summary>
    private static double[][]? Predict(IMetaAlgorithm algorithm, Tensor parameters, Tensor xs, Tensor ys, Tensor grid, int steps)
    {
        try
        {
            var fast = algorithm.Adapt(parameters, xs, ys, steps);
            using var noGrad = no_grad();
            return Rows(algorithm.Network.Forward(fast, grid));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static double[][] Rows(Tensor values)
    {
        var flat = values.to_type(ScalarType.Float64).reshape(values.Dims()[0], -1);
        var width = (int)flat.Dims()[1];
        var data = flat.data<double>().ToArray();
        return [.. Enumerable.Range(0, (int)flat.Dims()[0]).Select(r => data.AsSpan(r * width, width).ToArray())];
    }
}
