using System.Globalization;

namespace Meta.Hosting;

/// <summary>Shared pieces of Meta's ScottPlot charts: a log axis labelled with values, robust colour ranges.</summary>
internal static class PlotAxes
{
    /// <summary>
    /// Turns <paramref name="axis"/>, whose data are log10 values spanning [<paramref name="low"/>, <paramref name="high"/>],
    /// into a log axis: major ticks at 1, 2, 5 × 10ᵏ (only 10ᵏ over more than three decades) labelled with the values
    /// themselves, minor ticks at the other integers × 10ᵏ.
    /// </summary>
    public static void Log10(ScottPlot.IAxis axis, double low, double high)
    {
        if (!(high > low)) (low, high) = (low - 0.5, high + 0.5);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var wide = high - low > 3;
        for (var decade = (int)Math.Floor(low) - 1; decade <= (int)Math.Ceiling(high); decade++)
        {
            for (var m = 1; m <= 9; m++)
            {
                var position = decade + Math.Log10(m);
                if (position < low - 0.02 || position > high + 0.02) continue;
                var major = m == 1 || (!wide && m is 2 or 5);
                if (major) ticks.AddMajor(position, Format(m * Math.Pow(10, decade)));
                else ticks.AddMinor(position);
            }
        }
        axis.TickGenerator = ticks;
    }

    /// <summary>A value as a tick label: plain between 0.001 and 99,999, else in powers of ten.</summary>
    public static string Format(double value) =>
        value is >= 1e-3 and < 1e5
            ? value.ToString("0.####", CultureInfo.InvariantCulture)
            : value.ToString("0.#e+0", CultureInfo.InvariantCulture);

    /// <summary>The <paramref name="q"/>-quantile (0–1, linear interpolation) of <paramref name="values"/>; NaN when empty.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
