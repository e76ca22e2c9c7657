namespace Meta.Sampling;

/// <summary>What seed 000 logged about its queue, for one moment of training.</summary>
/// <param name="QueueMean">Mean stored loss over the cells (NaN without a queue).</param>
/// <param name="QueueStd">Population standard deviation of the stored losses (NaN without a queue).</param>
/// <param name="Epsilon">Current ε (ε-greedy), else null.</param>
/// <param name="ImportanceWeightMean">Mean importance weight of the last draw, else null.</param>
/// <param name="CountLossSpearman">Spearman rank correlation of the per-cell sample counts against the stored losses; NaN when either is constant (or without a queue).</param>
public sealed record SamplerMetrics(double QueueMean, double QueueStd, double? Epsilon, double? ImportanceWeightMean, double CountLossSpearman)
{
    /// <summary>
    /// The metrics of <paramref name="sampler"/> now, with the importance weights of <paramref name="lastDraw"/>.
    /// O(cells · log cells) because of the rank correlation: call it at logging time, not every iteration.
    /// </summary>
    public static SamplerMetrics Of(ITaskSampler sampler, TaskDraw? lastDraw = null)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        var queue = sampler.Queue;
        if (queue is null) return new(double.NaN, double.NaN, sampler.Epsilon, lastDraw?.MeanImportanceWeight, double.NaN);
        var (mean, std) = MeanStd(queue.Losses);
        var counts = new double[queue.Cells];
        for (var c = 0; c < counts.Length; c++) counts[c] = queue.Counts[c];
        return new(mean, std, sampler.Epsilon, lastDraw?.MeanImportanceWeight, RankCorrelation.Spearman(counts, queue.Losses));
    }

    /// <summary>Mean and population standard deviation (two passes, so large offsets do not cancel).</summary>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return (double.NaN, double.NaN);
        var sum = 0.0;
        foreach (var v in values) sum += v;
        var mean = sum / values.Length;
        var squares = 0.0;
        foreach (var v in values) squares += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(squares / values.Length));
    }
}

/// <summary>Spearman's rank correlation with average ranks for ties.</summary>
public static class RankCorrelation
{
    /// <summary>
    /// Pearson correlation of the average ranks of <paramref name="a"/> and <paramref name="b"/> (equal lengths ≥ 2):
    /// in [−1, 1]; NaN when either side is constant, where the correlation is undefined.
    /// </summary>
    public static double Spearman(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"both samples must have the same length ({a.Length} vs {b.Length})");
        if (a.Length < 2) return double.NaN;
        var ra = AverageRanks(a);
        var rb = AverageRanks(b);
        // Both rank vectors have mean (n + 1) / 2.
        var centre = (a.Length + 1) / 2.0;
        double sab = 0, saa = 0, sbb = 0;
        for (var i = 0; i < ra.Length; i++)
        {
            var x = ra[i] - centre;
            var y = rb[i] - centre;
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
        if (saa == 0 || sbb == 0) return double.NaN;
        return Math.Clamp(sab / Math.Sqrt(saa * sbb), -1.0, 1.0);
    }

    /// <summary>Ranks 1..n; tied values share the mean of the ranks they span (e.g. [10, 20, 20, 30] → [1, 2.5, 2.5, 4]).</summary>
    public static double[] AverageRanks(ReadOnlySpan<double> values)
    {
        foreach (var v in values)
            if (double.IsNaN(v)) throw new ArgumentException("cannot rank NaN", nameof(values));
        var order = new int[values.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var keys = values.ToArray();
        Array.Sort(keys, order);
        var ranks = new double[values.Length];
        var start = 0;
        while (start < keys.Length)
        {
            var end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            var rank = (start + 1 + end) / 2.0; // mean of ranks start+1 .. end
            for (var i = start; i < end; i++) ranks[order[i]] = rank;
            start = end;
        }
        return ranks;
    }
}
