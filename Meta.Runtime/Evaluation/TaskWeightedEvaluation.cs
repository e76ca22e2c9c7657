using System.Globalization;
using System.Text;
using Meta.Algorithms;
using Meta.Hosting;
using Meta.Sampling;
using Meta.Tasks;
using Meta.Training;

namespace Meta.Evaluation;

/// <summary>
/// The end of a task-weighted (seed 000) run: the fixed validation grid over the task-parameter box, the PNG heatmaps
/// of validation loss, queue losses and sample counts, and the sampler's final state, as a section of the summary.
/// </summary>
public static class TaskWeightedEvaluation
{
    /// <summary>Validates on the grid, writes the heatmaps into the run folder and adds the summary section.</summary>
    public static GridValidationResult Evaluate(ExperimentRun run, IMetaAlgorithm algorithm, IContinuousTaskFamily family,
        TorchSharp.torch.Tensor metaParameters, SamplerSession? sampling, RunSeeds seeds)
    {
        ArgumentNullException.ThrowIfNull(run);
        run.TrainingEnded();
        using var stream = seeds.NewEvaluation();
        using var grid = new GridValidation(family, stream);
        var result = grid.Evaluate(algorithm, metaParameters, run.Progress($"validating on the fixed grid of {grid.Tasks} tasks", "validation", grid.Tasks, "tasks"));
        run.Result("grid.mean", result.Mean);
        run.Result("grid.std", result.Std);
        run.Result("grid.worst10", result.Worst10Mean);
        var median = result.Median;
        run.Result("grid.median", median);
        run.Result("grid.diverged", result.Diverged);
        var images = Heatmaps.Write(run.Folder.Path, result, sampling?.Sampler.Queue);

        var sb = new StringBuilder();
        sb.AppendLine(grid.Protocol + string.Create(CultureInfo.InvariantCulture,
            $"; the mean is over all tasks (∞ when a task's loss is not finite); a task diverged when its loss is not finite or above {Divergence.Factor:0}× the larger of the task's loss before adaptation and its targets' variance."));
        sb.AppendLine();
        sb.AppendLine("| sampler | tasks | mean MSE | median | std | worst 10 % mean | diverged |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        static string N(double v) => EvaluationReport.Number(v);
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"| {(sampling is null ? "family's uniform" : OptionNames.Kebab(sampling.Sampler.Kind.ToString()))} | {grid.Tasks} | {N(result.Mean)} | {N(median)} | {N(result.Std)} | {N(result.Worst10Mean)} | {result.Diverged} |"));
        sb.AppendLine();
        if (sampling?.Sampler.Queue is { } queue)
        {
            var metrics = SamplerMetrics.Of(sampling.Sampler, sampling.LastDraw);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"Queue: {string.Join(" × ", queue.Shape)} = {queue.Cells} cells; loss mean {metrics.QueueMean:0.000}, std {metrics.QueueStd:0.000}; Spearman ρ(counts, losses) {metrics.CountLossSpearman:0.000}");
            if (metrics.Epsilon is { } e) line += string.Create(CultureInfo.InvariantCulture, $"; ε {e:0.000}");
            if (metrics.ImportanceWeightMean is { } w) line += string.Create(CultureInfo.InvariantCulture, $"; mean importance weight (last batch) {w:0.000}");
            sb.AppendLine(line + ".");
            sb.AppendLine();
        }
        foreach (var image in images) sb.AppendLine($"![{Path.GetFileNameWithoutExtension(image)}]({Path.GetFileName(image)})");
        run.AddSection("Validation grid", sb.ToString());
        return result;
    }
}
