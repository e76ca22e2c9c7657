namespace Meta.Hosting;

/// <summary>The meta-loss curve as a PNG (ScottPlot, headless).</summary>
internal static class LossPlot
{
    /// <summary>Writes the plot; returns false (and writes nothing) when there is nothing to plot or rendering fails.</summary>
    public static bool TryWrite(string path, IReadOnlyList<double> losses)
    {
        if (losses.Count < 2) return false;
        try
        {
            var window = Math.Max(1, losses.Count / 200);
            var xs = new List<double>();
            var ys = new List<double>();
            for (var start = 0; start + window <= losses.Count; start += window)
            {
                var mean = 0.0;
                for (var i = start; i < start + window; i++) mean += losses[i];
                mean /= window;
                if (mean <= 0 || !double.IsFinite(mean)) continue;
                xs.Add(start + window);
                ys.Add(Math.Log10(mean));
            }
            var plot = new ScottPlot.Plot();
            plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            plot.Title("meta-loss (mean per window)");
            plot.XLabel("meta-iteration");
            plot.YLabel("log10 meta-loss");
            plot.SavePng(path, 800, 450);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}
