using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Telemetry;
using TorchSharp;
using Microsoft.Extensions.Logging;

namespace Meta.Hosting;

/// <summary>
/// Everything a generated trainer reports to: progress log lines, OpenTelemetry instruments, and the run folder
/// (resolved configuration, per-iteration metrics CSV, loss plot, and <c>summary.md</c> with the evaluation table).
/// </summary>
public sealed partial class ExperimentRun : IDisposable
{
    private readonly ExperimentDescriptor _descriptor;
    private readonly IExperimentOptions _options;
    private readonly MetaTrainingMetrics _metrics;
    private readonly ILogger<ExperimentRun> _logger;
    private readonly List<double> _losses = [];
    private readonly Stopwatch _clock = new();
    private RunFolder? _folder;
    private StreamWriter? _csv;
    private TagList _tags;
    private int _iterations;
    private int _logEvery;
    private long _windowStart;
    private int _windowIterations;

    /// <summary>Created by the host for the experiment being run.</summary>
    public ExperimentRun(ExperimentDescriptor descriptor, IExperimentOptions options, MetaTrainingMetrics metrics, ILogger<ExperimentRun> logger)
    {
        _descriptor = descriptor;
        _options = options;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The run folder, once <see cref="Begin"/> has created it.</summary>
    public RunFolder Folder => _folder ?? throw new InvalidOperationException("the run has not begun");

    /// <summary>Per-iteration meta-losses so far.</summary>
    public IReadOnlyList<double> Losses => _losses;

    /// <summary>Creates the run folder under <paramref name="outputRoot"/>, writes the resolved configuration, and starts the clock.</summary>
    public void Begin(string outputRoot, string algorithm, int iterations, int logEvery)
    {
        _folder = RunFolder.Create(outputRoot, _descriptor.Name, DateTimeOffset.UtcNow);
        _tags = MetaTrainingMetrics.Tags(_descriptor.Name, algorithm);
        _iterations = iterations;
        _logEvery = Math.Max(1, logEvery);
        var config = _options.Resolved().ToDictionary(kv => kv.Key, kv => kv.Value);
        _folder.WriteText("config.json", JsonSerializer.Serialize(new { experiment = _descriptor.Name, algorithm, options = config }, JsonOptions));
        _csv = new StreamWriter(_folder.File("metrics.csv"), append: false, Encoding.UTF8);
        _csv.WriteLine("iteration,meta_loss,elapsed_s");
        _metrics.Active(_tags, +1);
        Log.Started(_logger, _descriptor.Name, algorithm, iterations, _folder.Path);
        _clock.Start();
        _windowStart = Stopwatch.GetTimestamp();
    }

    /// <summary>A timestamp to pass back to <see cref="Record"/>.</summary>
    public static long Timestamp() => Stopwatch.GetTimestamp();

    /// <summary>Records one finished meta-iteration (0-based) that began at <paramref name="started"/>.</summary>
    public void Record(int iteration, MetaStepResult step, long started)
    {
        var loss = step.MetaLoss.ToDouble();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _losses.Add(loss);
        _metrics.OuterStep(_tags, seconds, loss, (int)step.TaskLosses.shape[0]);
        _csv!.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{iteration + 1},{loss:R},{_clock.Elapsed.TotalSeconds:0.###}"));
        _windowIterations++;
        if ((iteration + 1) % _logEvery == 0 || iteration + 1 == _iterations)
        {
            var window = Stopwatch.GetElapsedTime(_windowStart).TotalSeconds;
            var recent = _losses.Skip(Math.Max(0, _losses.Count - _windowIterations)).Average();
            Log.Progress(_logger, iteration + 1, _iterations, recent, _windowIterations / Math.Max(window, 1e-9));
            _windowStart = Stopwatch.GetTimestamp();
            _windowIterations = 0;
        }
    }

    /// <summary>Logs a phase that is not an iteration (pre-training a baseline, evaluating).</summary>
    public void Phase(string what) => Log.Phase(_logger, what);

    /// <summary>
    /// Ends the run: writes <c>summary.md</c> (with <paramref name="report"/> when the run completed), the loss plot,
    /// and logs where the folder is. Returns <paramref name="outcome"/>.
    /// </summary>
    public RunOutcome Finish(RunOutcome outcome, int iterationsDone, EvaluationReport? report)
    {
        _clock.Stop();
        _csv?.Flush();
        _csv?.Dispose();
        _csv = null;
        if (report is not null)
        {
            foreach (var row in report.Rows.Where(r => r.Model == Models.MetaLearned)) _metrics.Evaluation(_tags, row.Mean);
        }
        var plot = LossPlot.TryWrite(Folder.File("loss.png"), _losses);
        Folder.WriteText("summary.md", Summary(outcome, iterationsDone, report, plot));
        _metrics.Active(_tags, -1);
        Log.Finished(_logger, _descriptor.Name, outcome.ToString().ToLowerInvariant(), iterationsDone, _clock.Elapsed.TotalSeconds, Folder.File("summary.md"));
        if (report is not null) Console.Out.Write(report.ToMarkdown());
        return outcome;
    }

    private string Summary(RunOutcome outcome, int done, EvaluationReport? report, bool plot)
    {
        var sb = new StringBuilder();
        var seconds = _clock.Elapsed.TotalSeconds;
        sb.AppendLine(CultureInfo.InvariantCulture, $"# {_descriptor.Name}");
        sb.AppendLine();
        sb.AppendLine(_descriptor.Description);
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"- outcome: **{outcome.ToString().ToLowerInvariant()}** after {done} of {_iterations} meta-iterations");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- wall time: {seconds:0.0} s ({done / Math.Max(seconds, 1e-9):0} meta-iterations/s including evaluation)");
        if (_losses.Count > 0)
        {
            var tail = _losses.Skip(Math.Max(0, _losses.Count - 100)).Average();
            sb.AppendLine(CultureInfo.InvariantCulture, $"- meta-loss: first {_losses[0]:0.000}, mean of the last {Math.Min(100, _losses.Count)} {tail:0.000}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        sb.AppendLine();
        if (report is not null)
        {
            sb.AppendLine("## Evaluation");
            sb.AppendLine();
            sb.AppendLine(report.Protocol);
            sb.AppendLine();
            sb.Append(report.ToMarkdown());
            sb.AppendLine();
        }
        if (plot)
        {
            sb.AppendLine("![meta-loss](loss.png)");
            sb.AppendLine();
        }
        sb.AppendLine("## Configuration");
        sb.AppendLine();
        sb.AppendLine("| option | value |");
        sb.AppendLine("|---|---|");
        foreach (var (key, value) in _options.Resolved()) sb.AppendLine(CultureInfo.InvariantCulture, $"| {key} | {value} |");
        return sb.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _csv?.Dispose();

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Experiment}: training {Algorithm} for {Iterations} meta-iterations; run folder {Folder}")]
        public static partial void Started(ILogger logger, string experiment, string algorithm, int iterations, string folder);

        [LoggerMessage(2, LogLevel.Information, "iteration {Iteration}/{Iterations}  meta-loss {Loss:0.0000}  {Rate:0} it/s")]
        public static partial void Progress(ILogger logger, int iteration, int iterations, double loss, double rate);

        [LoggerMessage(3, LogLevel.Information, "{What}")]
        public static partial void Phase(ILogger logger, string what);

        [LoggerMessage(4, LogLevel.Information, "{Experiment}: {Outcome} after {Iterations} meta-iterations in {Seconds:0.0} s; summary {Summary}")]
        public static partial void Finished(ILogger logger, string experiment, string outcome, int iterations, double seconds, string summary);
    }
}
