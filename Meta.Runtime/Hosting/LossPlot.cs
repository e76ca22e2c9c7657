using System.Globalization;

namespace Meta.Hosting;

/// <summary>
/// The meta-loss curve as a PNG (ScottPlot, headless): every iteration as a faint point, the mean per window as a line,
/// on a log axis labelled with loss values; the title names the experiment and the window.
/// </summary>
internal static class LossPlot
{
    /// <summary>Most raw points drawn (longer runs are thinned evenly).</summary>
    private const int MaxPoints = 5000;

    /// <summary>Writes the plot; returns false (and writes nothing) when there is nothing to plot or rendering fails.</summary>
    public static bool TryWrite(string path, IReadOnlyList<double> losses, string experiment)
    {
        if (losses.Count < 2) return false;
        try
        {
            var window = Math.Max(1, losses.Count / 200);
            var (xs, ys) = (new List<double>(), new List<double>());
            for (var start = 0; start + window <= losses.Count; start += window)
            {
                var mean = 0.0;
                for (var i = start; i < start + window; i++) mean += losses[i];
                mean /= window;
                if (mean <= 0 || !double.IsFinite(mean)) continue;
                xs.Add(start + window);
                ys.Add(Math.Log10(mean));
            }
            var stride = Math.Max(1, losses.Count / MaxPoints);
            var (rawX, rawY) = (new List<double>(), new List<double>());
            for (var i = 0; i < losses.Count; i += stride)
            {
                if (!(losses[i] > 0) || !double.IsFinite(losses[i])) continue;
                rawX.Add(i + 1);
                rawY.Add(Math.Log10(losses[i]));
            }
            if (rawY.Count == 0) return false;

            var plot = new ScottPlot.Plot();
            var raw = plot.Add.ScatterPoints(rawX.ToArray(), rawY.ToArray());
            raw.Color = ScottPlot.Colors.SteelBlue.WithAlpha(0.25);
            raw.MarkerSize = 2;
            raw.LegendText = stride == 1 ? "every iteration" : $"every {stride}th iteration";
            if (xs.Count > 1 && window > 1)
            {
                var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
                line.Color = ScottPlot.Colors.DarkBlue;
                line.LineWidth = 2;
                line.LegendText = $"mean per {window} iterations";
            }
            var low = Math.Min(rawY.Min(), ys.DefaultIfEmpty(double.PositiveInfinity).Min());
            var high = Math.Max(rawY.Max(), ys.DefaultIfEmpty(double.NegativeInfinity).Max());
            PlotAxes.Log10(plot.Axes.Left, low, high);
            plot.Axes.SetLimitsY(low - 0.05 * (high - low + 0.1), high + 0.05 * (high - low + 0.1));
            plot.Title(string.Create(CultureInfo.InvariantCulture, $"{experiment}: meta-loss over {losses.Count:N0} meta-iterations"));
            plot.XLabel("meta-iteration");
            plot.YLabel("meta-loss (log scale)");
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            plot.SavePng(path, 900, 500);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}
