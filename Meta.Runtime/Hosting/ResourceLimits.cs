using System.Globalization;

namespace Meta.Hosting;

/// <summary>
/// Checks, before anything is allocated or written, that an experiment's sizes fit the machine: a rough lower bound of
/// the memory one meta-iteration and the evaluation need, against the memory available now, and a sane libtorch thread
/// count. Sizes near <see cref="int.MaxValue"/> would otherwise grow past the machine's memory (or overflow inside
/// libtorch) long after the run folder was created. Reads the resolved options by key, so it covers every experiment.
/// </summary>
internal static class ResourceLimits
{
    /// <summary>The largest accepted <c>--threads</c>.</summary>
    public const int MaxThreads = 256;

    // Per float of activations or fast weights, per inner step: the value, its gradient and the graph (4 bytes × 4).
    private const double BytesPerFloat = 4 * 4;
    // Per image and inner step of conv-4, a lower bound: the first convolution's output at 28 × 28 per filter.
    private const double BytesPerImageFilter = 28 * 28 * 4;
    // The sinusoid evaluation's largest support size K (ExperimentDefaults.EvalShots); its steps are not kept in a graph.
    private const double EvalShots = 20;

    /// <summary>Throws <see cref="OptionException"/> when the sizes cannot fit; <paramref name="available"/> overrides the measured memory.</summary>
    public static void Check(IEnumerable<KeyValuePair<string, string>> resolved, double? available = null)
    {
        var o = resolved.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (Get(o, "Threads") is { } threads && threads > MaxThreads)
            throw OptionException.Rejected("--threads", Format(threads), $"a whole number from 1 to {MaxThreads} (this machine has {Environment.ProcessorCount} cores)");

        var memory = available ?? AvailableBytes();
        // The MLP (1 → hidden widths → 1 for sinusoids): activations per point, and weights P per task.
        var hidden = o.TryGetValue("Hidden", out var list)
            ? list.Split(',', StringSplitOptions.TrimEntries).Select(w => double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray()
            : [40.0, 40.0];
        double[] widths = [1, .. hidden, 1];
        var weights = 0.0;
        for (var i = 0; i + 1 < widths.Length; i++) weights += (widths[i] + 1) * widths[i + 1];
        var bytesPerPoint = hidden.Sum() * BytesPerFloat;
        var bytesPerTask = weights * BytesPerFloat;
        if (weights * BytesPerFloat > memory)
            throw new OptionException($"--hidden {list} makes {weights:0} weights, which need at least {ConfigurationSources.Bytes(weights * BytesPerFloat)} of memory, more than the {ConfigurationSources.Bytes(memory)} available; use narrower layers");
        var batch = Get(o, "MetaBatch") ?? 1;
        var points = (Get(o, "Shots") ?? 1) + (Get(o, "QueryShots") ?? 1);
        var steps = (Get(o, "InnerSteps") ?? 1) + 1;
        double training;
        string[] involved;
        if (Get(o, "Ways") is { } ways)
        {
            training = batch * ways * points * steps * (Get(o, "Filters") ?? 1) * BytesPerImageFilter;
            involved = ["--meta-batch", "--ways", "--shots", "--query-shots", "--inner-steps", "--filters"];
        }
        else
        {
            training = batch * steps * (points * bytesPerPoint + bytesPerTask);
            involved = ["--meta-batch", "--shots", "--query-shots", "--inner-steps"];
        }
        if (training > memory)
            throw new OptionException($"{Describe(o, involved)} need at least {ConfigurationSources.Bytes(training)} of memory per meta-iteration, more than the {ConfigurationSources.Bytes(memory)} available; lower them");

        if (Get(o, "EvalTasks") is { } tasks)
        {
            var evaluation = tasks * ((EvalShots + (Get(o, "EvalPoints") ?? 1)) * bytesPerPoint + bytesPerTask);
            if (evaluation > memory)
                throw new OptionException($"{Describe(o, ["--eval-tasks", "--eval-points"])} need at least {ConfigurationSources.Bytes(evaluation)} of memory for the evaluation, more than the {ConfigurationSources.Bytes(memory)} available; lower them");
        }
    }

    /// <summary>Memory available to this process now: the smaller of the kernel's MemAvailable and the GC's limit (cgroups).</summary>
    public static double AvailableBytes()
    {
        double limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                if (double.TryParse(kb, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) limit = Math.Min(limit, value * 1024);
                break;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or no /proc: the GC's figure stands.
        }
        return limit;
    }

    private static double? Get(Dictionary<string, string> options, string key) =>
        options.TryGetValue(key, out var raw) && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string Describe(Dictionary<string, string> options, string[] flags)
    {
        var parts = flags
            .Select(f => (Flag: f, Key: string.Concat(f[2..].Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]))))
            .Where(x => options.ContainsKey(x.Key))
            .Select(x => $"{x.Flag} {options[x.Key]}")
            .ToList();
        return parts.Count <= 1 ? string.Concat(parts) : string.Join(", ", parts.SkipLast(1)) + " and " + parts[^1];
    }

    private static string Format(double value) => value.ToString("0", CultureInfo.InvariantCulture);
}
