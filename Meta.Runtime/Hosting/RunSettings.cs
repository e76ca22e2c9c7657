using System.Globalization;
using Meta.Checkpoints;
using Meta.Distributed;

namespace Meta.Hosting;

/// <summary>What to do when a meta-step produces NaN or infinity.</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop the run with an error naming the iteration; the last good checkpoint stays.</summary>
    Stop,
    /// <summary>Skip the step (θ unchanged), count it in <c>metalearn.outer.steps.skipped</c>, and go on.</summary>
    Skip,
}

/// <summary>A NaN or infinity in a loss or gradient, reported with the iteration and where it appeared.</summary>
public sealed class NumericalFaultException(string message) : Exception(message);

/// <summary>How a generated trainer runs: budget, reporting, checkpoints, resume, numerical faults, distribution.</summary>
/// <param name="Output">Root folder of run folders.</param>
/// <param name="Algorithm">Algorithm tag.</param>
/// <param name="Iterations">Total meta-iterations.</param>
/// <param name="LogEvery">Iterations between progress lines.</param>
public sealed record RunSettings(string Output, string Algorithm, int Iterations, int LogEvery)
{
    /// <summary>Iterations between checkpoints; 0 writes one only at the end and when stopped.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Checkpoints kept (newest).</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>Empty for a fresh run; <c>latest</c>, a run folder or a checkpoint file to continue from.</summary>
    public string Resume { get; init; } = "";

    /// <summary>What a NaN or infinity does.</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;

    /// <summary>
    /// Global L2 norm the (averaged) meta-gradient is clipped to before the optimiser step (<c>--meta-grad-clip</c>);
    /// 0 does not clip. Clipped steps are counted in <c>metalearn.outer.steps.clipped</c>.
    /// </summary>
    public double MetaGradClip { get; init; }

    /// <summary>The process group (a single process unless distributed).</summary>
    public IAllReducer Group { get; init; } = new SingleProcess();

    /// <summary>Iterations between checks that θ is identical on every rank.</summary>
    public int VerifyEvery { get; init; } = 100;

    /// <summary>
    /// The experiment's task family, network and algorithm definitions as configured (null for hand-written loops): what
    /// the run folder records so that a trained model can be rebuilt.
    /// </summary>
    public RunComponents? Components { get; init; }
}

/// <summary>Finds what <c>--resume</c> points at.</summary>
public static class ResumeSource
{
    /// <summary>
    /// The run folder under <paramref name="root"/> (an experiment's folder of runs) whose newest checkpoint was written
    /// last, with that checkpoint; null when no run there has one.
    /// </summary>
    public static (string Folder, string Checkpoint)? NewestRun(string root)
    {
        if (!Directory.Exists(root)) return null;
        var newest = Directory.GetDirectories(root)
            .Select(folder => (folder, checkpoint: new CheckpointStore(folder, 1).Latest()))
            .Where(x => x.checkpoint is not null)
            .OrderBy(x => File.GetLastWriteTimeUtc(x.checkpoint!))
            .LastOrDefault();
        return newest.checkpoint is null ? null : (newest.folder, newest.checkpoint);
    }

    /// <summary>
    /// Resolves <paramref name="resume"/> (<c>latest</c>, a run folder, or a checkpoint file) to the run folder and the
    /// checkpoint to load; throws <see cref="OptionException"/> when there is none. The folder is null for a checkpoint
    /// file that is not in a run folder's <c>checkpoints/</c> (a copy elsewhere): that run continues in a new folder.
    /// </summary>
    public static (string? Folder, string Checkpoint) Find(string resume, string output, string experiment)
    {
        if (string.IsNullOrWhiteSpace(resume))
            throw new OptionException("--resume: an empty value is not accepted; expected 'latest', a run folder or a checkpoint file");
        if (string.Equals(resume, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var root = Path.GetFullPath(Path.Combine(output, experiment));
            return NewestRun(root) ?? throw new OptionException($"--resume: no checkpoint of {experiment} under '{root}'; run without --resume to start a new run");
        }
        if (File.Exists(resume))
        {
            var file = Path.GetFullPath(resume);
            var checkpoints = Path.GetDirectoryName(file);
            var folder = checkpoints is null ? null : Path.GetDirectoryName(checkpoints);
            var inRunFolder = folder is not null
                              && string.Equals(Path.GetFileName(checkpoints), "checkpoints", StringComparison.Ordinal)
                              && File.Exists(Path.Combine(folder, "config.json"));
            return (inRunFolder ? folder : null, file);
        }
        if (Directory.Exists(resume))
        {
            var latest = new CheckpointStore(resume, 1).Latest()
                         ?? throw new OptionException($"--resume: '{resume}' has no checkpoints/ with a checkpoint in it");
            return (Path.GetFullPath(resume), latest);
        }
        throw new OptionException($"--resume: '{resume}' is not accepted; expected 'latest', a run folder or a checkpoint file");
    }
}

/// <summary>Names the options that differ between a checkpoint's run and this one.</summary>
internal static class ResumeDifference
{
    /// <summary>
    /// "--inner-lr was 0.01, now 0.02" from the run folder's <c>config.json</c>; the two configuration hashes when the
    /// folder (or its config.json) is not there to compare with.
    /// </summary>
    public static string Describe(string? folder, IReadOnlyList<KeyValuePair<string, string>> now, IReadOnlySet<string> safe, string thenHash, string nowHash)
    {
        var hashes = $"configuration hash {thenHash}, this run {nowHash}";
        if (folder is null) return hashes;
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
            if (!json.RootElement.TryGetProperty("options", out var options) || options.ValueKind != System.Text.Json.JsonValueKind.Object) return hashes;
            var then = options.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.Ordinal);
            var changes = now
                .Where(kv => !safe.Contains(kv.Key) && then.TryGetValue(kv.Key, out var old) && old != kv.Value)
                .Select(kv => $"--{OptionNames.Kebab(kv.Key)} was {then[kv.Key]}, now {kv.Value}")
                .ToList();
            return changes.Count == 0 ? hashes : string.Join(", ", changes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return hashes;
        }
    }
}

/// <summary>The run folder's metrics.csv.</summary>
internal static class MetricsCsv
{
    /// <summary>Drops rows after <paramref name="iteration"/> (written after the checkpoint being resumed) and returns the kept losses.</summary>
    public static List<double> Truncate(string path, int iteration)
    {
        var losses = new List<double>();
        if (!File.Exists(path)) return losses;
        var kept = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            var cells = line.Split(',');
            if (kept.Count == 0) { kept.Add(line); continue; }
            if (cells.Length < 2 || !int.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) || i > iteration) continue;
            if (double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var loss)) losses.Add(loss);
            kept.Add(line);
        }
        try
        {
            File.WriteAllLines(path + ".tmp", kept);
            File.Move(path + ".tmp", path, overwrite: true);
        }
        catch
        {
            File.Delete(path + ".tmp");
            throw;
        }
        return losses;
    }
}

/// <summary>The configured parts of an experiment, recorded in the run folder so a trained model can be rebuilt.</summary>
/// <param name="Family">The task family (prepared).</param>
/// <param name="Network">The network definition.</param>
/// <param name="Algorithm">The algorithm definition.</param>
/// <param name="Shape">The task shape the network was built for.</param>
public sealed record RunComponents(ITaskFamily Family, INetworkDefinition Network, IAlgorithmDefinition Algorithm, TaskShape Shape);
