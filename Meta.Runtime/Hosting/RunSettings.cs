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
    /// Resolves <paramref name="resume"/> (<c>latest</c>, a run folder, or a checkpoint file) to the run folder and the
    /// checkpoint to load; throws <see cref="OptionException"/> when there is none.
    /// </summary>
    public static (string Folder, string Checkpoint) Find(string resume, string output, string experiment)
    {
        if (string.Equals(resume, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var root = Path.GetFullPath(Path.Combine(output, experiment));
            var newest = Directory.Exists(root)
                ? Directory.GetDirectories(root)
                    .Select(folder => (folder, checkpoint: new CheckpointStore(folder, 1).Latest()))
                    .Where(x => x.checkpoint is not null)
                    .OrderBy(x => File.GetLastWriteTimeUtc(x.checkpoint!))
                    .LastOrDefault()
                : default;
            if (newest.checkpoint is null)
                throw new OptionException($"--resume: no checkpoint of {experiment} under '{root}'; run without --resume to start a new run");
            return (newest.folder, newest.checkpoint);
        }
        if (File.Exists(resume))
        {
            var folder = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(resume)))!;
            return (folder, Path.GetFullPath(resume));
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
        File.WriteAllLines(path + ".tmp", kept);
        File.Move(path + ".tmp", path, overwrite: true);
        return losses;
    }
}

/// <summary>The configured parts of an experiment, recorded in the run folder so a trained model can be rebuilt.</summary>
/// <param name="Family">The task family (prepared).</param>
/// <param name="Network">The network definition.</param>
/// <param name="Algorithm">The algorithm definition.</param>
/// <param name="Shape">The task shape the network was built for.</param>
public sealed record RunComponents(ITaskFamily Family, INetworkDefinition Network, IAlgorithmDefinition Algorithm, TaskShape Shape);
