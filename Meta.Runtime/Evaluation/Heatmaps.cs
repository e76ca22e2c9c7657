using System.Globalization;
using Meta.Sampling;
using Meta.Tasks;

namespace Meta.Evaluation;

/// <summary>
/// PNG heatmaps over the first two task parameters (sinusoids: amplitude A across, phase φ up): the fixed-validation
/// loss, the queue's stored losses and its sample counts. A grid with more parameters is shown as its mean over the
/// others (3-D sinusoids: averaged over ω; the title says so). ScottPlot, headless.
/// </summary>
public static class Heatmaps
{
    /// <summary>File name of the validation-loss heatmap.</summary>
    public const string ValidationFile = "validation-loss.png";
    /// <summary>File name of the queue-loss heatmap.</summary>
    public const string QueueLossFile = "queue-loss.png";
    /// <summary>File name of the sample-count heatmap.</summary>
    public const string QueueCountFile = "queue-counts.png";

    /// <summary>
    /// Writes the heatmaps available into <paramref name="folder"/> (created if missing), each name prefixed by
    /// <paramref name="prefix"/>; returns the paths written. A grid with fewer than two parameters has no heatmap.
    /// </summary>
    public static IReadOnlyList<string> Write(string folder, GridValidationResult? validation, PriorityQueue? queue, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        if (validation is not null && validation.Shape.Length >= 2)
        {
            var path = Path.Combine(folder, prefix + ValidationFile);
            var steps = validation.Axes.Select(a => a.Length > 1 ? a[1] - a[0] : 1.0).ToArray();
            WriteGrid(path, validation.Losses, validation.Shape, validation.Parameters,
                [validation.Axes[0][0], validation.Axes[0][^1] + steps[0]], [validation.Axes[1][0], validation.Axes[1][^1] + steps[1]],
                $"validation loss (mean {TitleNumber(validation.Mean)}, worst 10 % {TitleNumber(validation.Worst10Mean)})", "loss", losses: true,
                diverged: [.. Enumerable.Range(0, validation.Losses.Length).Select(validation.IsDiverged)]);
            written.Add(path);
        }
        if (queue is not null && queue.Dimensions >= 2)
        {
            var x = Edges(queue, 0);
            var y = Edges(queue, 1);
            var shape = queue.Shape.ToArray();
            var lossPath = Path.Combine(folder, prefix + QueueLossFile);
            WriteGrid(lossPath, queue.Losses.ToArray(), shape, queue.Parameters, x, y, "queue: latest loss per cell", "loss", losses: true);
            written.Add(lossPath);
            var counts = new double[queue.Cells];
            for (var c = 0; c < counts.Length; c++) counts[c] = queue.Counts[c];
            var countPath = Path.Combine(folder, prefix + QueueCountFile);
            WriteGrid(countPath, counts, shape, queue.Parameters, x, y, "queue: samples per cell", "samples");
            written.Add(countPath);
        }
        return written;
    }

    /// <summary>
    /// One heatmap of <paramref name="values"/> (row-major over <paramref name="shape"/>) against the first two parameters,
    /// averaged over any further ones; <paramref name="xRange"/> and <paramref name="yRange"/> are the outer edges. With
    /// <paramref name="losses"/>, cells that diverged are drawn in a separate colour and counted in the title, and the
    /// colour scale stops at the 98th percentile of the other cells when a few outliers would otherwise turn the whole map
    /// one colour. A cell diverged when its value is not finite or, given <paramref name="diverged"/> (one flag per value,
    /// e.g. <see cref="GridValidationResult.IsDiverged"/>), when any of its values is flagged. Losses without a
    /// pre-adaptation reference (the queue's) have no flags: only a value that is not finite is marked; finite outliers
    /// are left to the capped colour scale.
    /// </summary>
    public static void WriteGrid(string path, IReadOnlyList<double> values, IReadOnlyList<int> shape, IReadOnlyList<TaskParameter> parameters,
        double[] xRange, double[] yRange, string title, string valueLabel, bool losses = false, IReadOnlyList<bool>? diverged = null)
    {
        if (diverged is not null && diverged.Count != values.Count) throw new ArgumentException("one divergence flag per value is needed", nameof(diverged));
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(xRange);
        ArgumentNullException.ThrowIfNull(yRange);
        if (shape.Count < 2) throw new ArgumentException("a heatmap needs at least two task parameters", nameof(shape));
        var (nx, ny) = (shape[0], shape[1]);
        var rest = values.Count / (nx * ny);
        if (rest * nx * ny != values.Count) throw new ArgumentException("values do not match the shape", nameof(values));
        // ScottPlot draws row 0 at the top: row r holds the y-index ny − 1 − r so that the second parameter increases upwards.
        var grid = new double[ny, nx];
        var divergedCells = 0;
        var kept = new List<double>(nx * ny);
        for (var i = 0; i < nx; i++)
            for (var j = 0; j < ny; j++)
            {
                var sum = 0.0;
                var flagged = false;
                for (var k = 0; k < rest; k++)
                {
                    sum += values[(i * ny + j) * rest + k];
                    flagged |= diverged?[(i * ny + j) * rest + k] ?? false;
                }
                var cell = sum / rest;
                if (losses && (flagged || !double.IsFinite(cell)))
                {
                    divergedCells++;
                    cell = double.NaN;   // drawn in NaNCellColor
                }
                else if (double.IsFinite(cell)) kept.Add(cell);
                grid[ny - 1 - j, i] = cell;
            }
        var marginal = parameters.Count > 2 ? " (mean over " + string.Join(", ", parameters.Skip(2).Select(p => p.Symbol)) + ")" : "";
        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(grid);
        heatmap.Rectangle = new ScottPlot.CoordinateRect(xRange[0], xRange[1], yRange[0], yRange[1]);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = ScottPlot.Colors.Red;
        var notes = new List<string>();
        if (losses && kept.Count > 1)
        {
            var (low, top, cap) = (kept.Min(), kept.Max(), Meta.Hosting.PlotAxes.Quantile(kept, 0.98));
            if (top > low && top - low > 3 * (cap - low))
            {
                heatmap.ManualRange = new ScottPlot.Range(low, cap);
                notes.Add($"colours stop at the 98th percentile, {Meta.Hosting.PlotAxes.Format(cap)}");
            }
        }
        if (divergedCells > 0) notes.Add($"{divergedCells} diverged cell{(divergedCells == 1 ? "" : "s")} in red");
        // The colour bar has no label of its own (ScottPlot draws it over the tick labels); the title names the value.
        plot.Add.ColorBar(heatmap);
        if (!title.Contains(valueLabel, StringComparison.OrdinalIgnoreCase)) title += $" ({valueLabel})";
        plot.Title(title + marginal + (notes.Count > 0 ? "\n" + string.Join("; ", notes) : ""));
        plot.Axes.Title.Label.FontSize = 14;
        plot.XLabel(Label(parameters[0]));
        plot.YLabel(Label(parameters[1]));
        plot.Axes.SetLimits(xRange[0], xRange[1], yRange[0], yRange[1]);
        plot.SavePng(path, 800, 600);
    }

    private static double[] Edges(PriorityQueue queue, int dimension)
    {
        var low = queue.Parameters[dimension].Min;
        return [low, low + queue.Shape[dimension] * queue.CellWidths[dimension]];
    }

    private static string TitleNumber(double value) => double.IsFinite(value) ? Meta.Hosting.PlotAxes.Format(value) : EvaluationReport.Number(value);

    private static string Label(TaskParameter p) => $"{p.Symbol} ({p.Name})";
}
