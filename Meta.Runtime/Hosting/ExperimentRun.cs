using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Distributed;
using Meta.Evaluation;
using Meta.Telemetry;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;
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
    private StreamWriter? _diagnosticsCsv;
    private string[]? _diagnosticKeys;
    private int _normIteration = -1;
    private double _gradientNorm = double.NaN;
    private int _clippedSteps;
    private TagList _tags;
    private int _iterations;
    private int _logEvery;
    private long _windowStart;
    private int _windowIterations;
    private RunSettings? _settings;
    private IReadOnlyList<(string Prefix, ICheckpointable Part)>? _state;
    private Tensor? _metaParameters;
    private CheckpointStore? _store;
    private string? _configurationHash;
    private int _lastCheckpoint = -1;
    private readonly List<(string Title, string Markdown)> _sections = [];
    private readonly Dictionary<string, double> _results = new(StringComparer.Ordinal);
    private double _trainingSeconds;
    private int _trainedIterations;
    private readonly RunProgress _progress;
    private PhaseProgress? _training;
    private int _done;
    private bool _finished;

    /// <summary>Created by the host for the experiment being run.</summary>
    public ExperimentRun(ExperimentDescriptor descriptor, IExperimentOptions options, MetaTrainingMetrics metrics, ILogger<ExperimentRun> logger)
    {
        _descriptor = descriptor;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _progress = new RunProgress(logger);
    }

    /// <summary>The host's stop request (set by <see cref="ExperimentHostedService"/>).</summary>
    internal CancellationToken Stopping { get; set; }

    /// <summary>The run folder, once <see cref="Begin"/> has created it.</summary>
    public RunFolder Folder => _folder ?? throw new InvalidOperationException("the run has not begun");

    /// <summary>Per-iteration meta-losses so far.</summary>
    public IReadOnlyList<double> Losses => _losses;

    /// <summary>The settings given to <see cref="Begin"/>.</summary>
    public RunSettings Settings => _settings ?? throw new InvalidOperationException("the run has not begun");

    /// <summary>Whether this process writes the run folder (rank 0 of a distributed run, or the only process).</summary>
    public bool IsWriter => (_settings?.Group.Rank ?? 0) == 0;

    /// <summary>
    /// Starts the run: resolves <c>--resume</c> (restoring <paramref name="state"/> and returning the iteration to continue
    /// from) or creates a fresh run folder; writes the resolved configuration; starts the clock. Every check that can
    /// fail on bad input happens here, before any training. Returns the first iteration to run (0 for a fresh run).
    /// </summary>
    public int Begin(RunSettings settings, Tensor metaParameters, IReadOnlyList<(string Prefix, ICheckpointable Part)> state)
    {
        _settings = settings;
        _state = state;
        _metaParameters = metaParameters;
        _tags = MetaTrainingMetrics.Tags(_descriptor.Name, settings.Algorithm);
        if (settings.Group.Size > 1) _tags.Add(MetaTelemetry.RankTag, settings.Group.Rank);
        _iterations = settings.Iterations;
        _logEvery = Math.Max(1, settings.LogEvery);
        _configurationHash = CheckpointFile.ConfigurationHash(_options.Resolved(), ResumeSafeKeys);

        var start = 0;
        if (!string.IsNullOrEmpty(settings.Resume))
        {
            var (folder, checkpoint) = ResumeSource.Find(settings.Resume, settings.Output, _descriptor.Name);
            var reader = CheckpointFile.Read(checkpoint);
            if (reader.Manifest.Experiment != _descriptor.Name)
                throw new CheckpointException($"--resume: checkpoint '{checkpoint}' was written by {reader.Manifest.Experiment}, not {_descriptor.Name}");
            if (reader.Manifest.ConfigurationHash != _configurationHash)
                throw new CheckpointException($"--resume: checkpoint '{checkpoint}' was written with another configuration ({ResumeDifference.Describe(folder, _options.Resolved(), ResumeSafeKeys, reader.Manifest.ConfigurationHash, _configurationHash)}); only {string.Join(", ", ResumeSafeKeys.Order().Select(k => "--" + OptionNames.Kebab(k)))} may change on resume");
            if (reader.Manifest.Iteration < 0 || reader.Manifest.Iteration > int.MaxValue)
                throw new CheckpointException($"--resume: checkpoint '{checkpoint}' claims iteration {reader.Manifest.Iteration}; a checkpoint's iteration is between 0 and {int.MaxValue}");
            start = (int)reader.Manifest.Iteration;
            if (start > settings.Iterations)
                throw new OptionException($"--iterations {settings.Iterations} is below the checkpoint's iteration {start} ('{checkpoint}'); pass --iterations {start} or more to continue it");
            CheckpointStore.Restore(reader, state);
            if (IsWriter)
            {
                // A checkpoint inside a run folder continues that folder; one copied elsewhere starts a new folder under --output.
                if (folder is not null)
                {
                    _folder = RunFolder.Open(folder);
                    _losses.AddRange(MetricsCsv.Truncate(_folder.File("metrics.csv"), start));
                }
                else
                {
                    _folder = RunFolder.Create(settings.Output, _descriptor.Name, DateTimeOffset.UtcNow);
                }
            }
            Log.Resumed(_logger, _descriptor.Name, start, checkpoint);
        }
        else if (IsWriter)
        {
            _folder = RunFolder.Create(settings.Output, _descriptor.Name, DateTimeOffset.UtcNow);
        }

        if (IsWriter)
        {
            _store = new CheckpointStore(_folder!.Path, settings.KeepCheckpoints);
            if (settings.Components is { } components)
                _folder.WriteText(ModelManifest.FileName, ModelManifest.Describe(_descriptor.Name, components, metaParameters.Dims()[0]).ToJson());
            var config = _options.Resolved().ToDictionary(kv => kv.Key, kv => kv.Value);
            _folder.WriteText("config.json", JsonSerializer.Serialize(new { experiment = _descriptor.Name, algorithm = settings.Algorithm, configurationHash = _configurationHash, options = config }, JsonOptions));
            var continuing = start > 0 && File.Exists(_folder.File("metrics.csv"));
            _csv = new StreamWriter(_folder.File("metrics.csv"), append: continuing, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            if (!continuing) _csv.WriteLine("iteration,meta_loss,elapsed_s");
            if (continuing && File.Exists(_folder.File(DiagnosticsFile)))
            {
                // Continue the diagnostics file with its own columns; rows after the checkpoint are dropped as in metrics.csv.
                MetricsCsv.Truncate(_folder.File(DiagnosticsFile), start);
                var header = File.ReadLines(_folder.File(DiagnosticsFile)).FirstOrDefault()?.Split(',') ?? [];
                if (header.Length >= 2)
                {
                    _diagnosticKeys = header[2..];
                    _diagnosticsCsv = new StreamWriter(_folder.File(DiagnosticsFile), append: true, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                }
            }
        }
        _done = start;
        _metrics.Active(_tags, +1);
        Log.Started(_logger, _descriptor.Name, settings.Algorithm, settings.Iterations, _folder?.Path ?? "(written by rank 0)");
        _clock.Start();
        _windowStart = Stopwatch.GetTimestamp();
        if (IsWriter) _training = _progress.Begin("training", settings.Iterations, "it", start);
        return start;
    }

    /// <summary>
    /// Checks a meta-step for NaN or infinity in its loss or gradient before it is applied, and clips the meta-gradient to
    /// <see cref="RunSettings.MetaGradClip"/> (counted in a metric). Returns true when the step may be applied; false
    /// when it is to be skipped (<see cref="NonFinitePolicy.Skip"/>, counted in a metric); throws
    /// <see cref="NumericalFaultException"/> naming the iteration and where the fault appeared otherwise. The gradient's
    /// norm before clipping is what <see cref="Record(int, MetaStepResult, long)"/> writes to <c>diagnostics.csv</c>.
    /// </summary>
    public bool Accept(int iteration, MetaStepResult step)
    {
        // In a distributed run the gradient has been averaged over ranks (a NaN anywhere is a NaN everywhere), so only the
        // gradient decides there: every rank then takes the same decision and θ stays identical.
        var lossFinite = Settings.Group.Size > 1 || double.IsFinite(step.MetaLoss.Scalar());
        // The norm is finite exactly when every entry is: one sync serves the check, the clip and the diagnostics.
        _gradientNorm = GradientClip.Norm(step.Gradient);
        _normIteration = iteration;
        if (lossFinite && double.IsFinite(_gradientNorm))
        {
            if (GradientClip.Apply(step.Gradient, Settings.MetaGradClip, _gradientNorm))
            {
                _clippedSteps++;
                _metrics.ClippedStep(_tags);
            }
            return true;
        }
        var where = lossFinite
            ? $"the meta-gradient has {step.Gradient.isfinite().logical_not().sum().ToInt64()} non-finite entries"
            : $"the meta-loss is {step.MetaLoss.ToDouble()}";
        if (Settings.OnNonFinite == NonFinitePolicy.Skip)
        {
            _metrics.SkippedStep(_tags);
            Log.Skipped(_logger, iteration + 1, where);
            return false;
        }
        var last = _store?.Latest();
        throw new NumericalFaultException($"iteration {iteration + 1}: {where}; " +
            (last is null ? "no checkpoint was written yet" : $"the last good checkpoint is {last}") +
            "; pass --on-non-finite skip to skip such steps");
    }

    /// <summary>A timestamp to pass back to <c>Record</c>.</summary>
    public static long Timestamp() => Stopwatch.GetTimestamp();

    /// <summary>Records one finished meta-iteration (0-based) that began at <paramref name="started"/>.</summary>
    public void Record(int iteration, MetaStepResult step, long started)
    {
        var loss = step.MetaLoss.Scalar();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        _losses.Add(loss);
        _metrics.OuterStep(_tags, seconds, loss, (int)step.TaskLosses.Dims()[0]);
        _csv?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{iteration + 1},{loss:R},{_clock.Elapsed.TotalSeconds:0.###}"));
        RecordDiagnostics(iteration, step);
        _trainingSeconds = _clock.Elapsed.TotalSeconds;
        _trainedIterations++;
        _windowIterations++;
        _training?.Report(iteration + 1, loss);
        _done = iteration + 1;
        if (Settings.Group.Size > 1 && (iteration + 1) % Settings.VerifyEvery == 0)
            Settings.Group.VerifyIdentical(_metaParameters!, iteration + 1);
        if (Settings.CheckpointEvery > 0 && (iteration + 1) % Settings.CheckpointEvery == 0) Checkpoint(iteration + 1);
        // A line every --log-every iterations, at the end, and (without a live display) at least every 10 s, so that
        // slow experiments report early.
        if (IsWriter && ((iteration + 1) % _logEvery == 0 || iteration + 1 == _iterations
                         || !RunProgress.Live && Stopwatch.GetElapsedTime(_windowStart) >= RunProgress.PlainInterval))
        {
            var window = Stopwatch.GetElapsedTime(_windowStart).TotalSeconds;
            var recent = _losses.Skip(Math.Max(0, _losses.Count - _windowIterations)).Average();
            Log.Progress(_logger, iteration + 1, _iterations, recent, _windowIterations / Math.Max(window, 1e-9), Environment.WorkingSet / 1048576.0);
            _windowStart = Stopwatch.GetTimestamp();
            _windowIterations = 0;
        }
    }

    /// <summary>The file of per-iteration meta-gradient norms and algorithm diagnostics in the run folder.</summary>
    public const string DiagnosticsFile = "diagnostics.csv";

    /// <summary>
    /// Writes the meta-gradient's norm (before clipping; measured here when the loop did not call <see cref="Accept"/>)
    /// and the step's <see cref="MetaStepResult.Diagnostics"/> to <c>diagnostics.csv</c> and the gauges. The columns are
    /// the first step's keys; a key missing later is an empty cell.
    /// </summary>
    private void RecordDiagnostics(int iteration, MetaStepResult step)
    {
        var norm = _normIteration == iteration ? _gradientNorm : GradientClip.Norm(step.Gradient);
        _metrics.StepDiagnostics(_tags, norm, step.Diagnostics);
        if (!IsWriter || _folder is null) return;
        if (_diagnosticsCsv is null)
        {
            _diagnosticKeys = step.Diagnostics?.Keys.ToArray() ?? [];
            _diagnosticsCsv = new StreamWriter(_folder.File(DiagnosticsFile), append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            _diagnosticsCsv.WriteLine(string.Join(",", new[] { "iteration", "gradient_norm" }.Concat(_diagnosticKeys)));
        }
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{iteration + 1},{norm:R}");
        foreach (var key in _diagnosticKeys!)
        {
            line.Append(',');
            if (step.Diagnostics is not null && step.Diagnostics.TryGetValue(key, out var value)) line.Append(value.ToString("R", CultureInfo.InvariantCulture));
        }
        _diagnosticsCsv.WriteLine(line.ToString());
    }

    /// <summary>Records a named result (e.g. <c>grid.mean</c>) for <c>result.json</c>, read by the comparison command.</summary>
    public void Result(string name, double value) => _results[name] = value;

    /// <summary>Adds a section to <c>summary.md</c> (after the evaluation table).</summary>
    public void AddSection(string title, string markdown) => _sections.Add((title, markdown));

    /// <summary>
    /// Records one finished meta-iteration of a run with a task sampler; at progress points it also records the
    /// sampler's state (queue mean and std, ε, mean importance weight, Spearman ρ of counts against losses).
    /// </summary>
    public void Record(int iteration, MetaStepResult step, long started, Meta.Sampling.SamplerSession sampling)
    {
        Record(iteration, step, started);
        if ((iteration + 1) % _logEvery != 0 && iteration + 1 != _iterations) return;
        var m = Meta.Sampling.SamplerMetrics.Of(sampling.Sampler, sampling.LastDraw);
        _metrics.Sampler(_tags, m.QueueMean, m.QueueStd, m.Epsilon, m.ImportanceWeightMean, m.CountLossSpearman);
        if (IsWriter && sampling.Sampler.Queue is not null)
            Log.SamplerState(_logger, m.QueueMean, m.QueueStd, m.Epsilon ?? double.NaN, m.ImportanceWeightMean ?? double.NaN, m.CountLossSpearman);
    }

    /// <summary>Logs a phase that is not an iteration (pre-training a baseline, evaluating).</summary>
    public void Phase(string what) => Log.Phase(_logger, what);

    /// <summary>
    /// Logs a phase of <paramref name="total"/> units (test tasks, episodes, baseline iterations) and returns its progress,
    /// shown as a bar under a terminal and as a line at least every 10 s otherwise; the previous phase ends here.
    /// </summary>
    /// <param name="what">The log line (what the phase does).</param>
    /// <param name="label">The bar's short name (evaluation, baseline, …).</param>
    /// <param name="total">Units of work.</param>
    /// <param name="unit">What a unit is.</param>
    public PhaseProgress Progress(string what, string label, long total, string unit)
    {
        Log.Phase(_logger, what);
        return _progress.Begin(label, total, unit);
    }

    /// <summary>Ends the live display (before an error is printed, or at the end of the run).</summary>
    public void StopProgress() => _progress.Stop();

    /// <summary>
    /// Marks the end of training, before the evaluation starts: writes the checkpoint of the iterations done, so that a
    /// stop during the evaluation (or pre-training a baseline) keeps the trained state and <c>--resume</c> goes straight
    /// to the evaluation. Called by the evaluations; a second call writes nothing.
    /// </summary>
    public void TrainingEnded()
    {
        if (_done > 0) Checkpoint(_done);
    }

    /// <summary>
    /// Ends a run that was stopped outside its training loop (the evaluation threw <see cref="OperationCanceledException"/>):
    /// writes <c>summary.md</c> and <c>result.json</c> marked <i>stopped</i>. Touches no tensor (the trainer's are disposed
    /// by now); the checkpoint is the one <see cref="TrainingEnded"/> wrote. Does nothing before <see cref="Begin"/>.
    /// </summary>
    public void FinishInterrupted()
    {
        if (_settings is null || _finished) return;
        _finished = true;
        _clock.Stop();
        _progress.Stop();
        _metrics.Active(_tags, -1);
        if (!IsWriter || _folder is null) return;
        CloseCsvs();
        WriteSummary(RunOutcome.Stopped, _done, report: null);
    }

    /// <summary>Writes <paramref name="exception"/> in full to <c>error.log</c> in the run folder; returns its path, or null without a folder or when it cannot be written.</summary>
    public string? WriteErrorLog(Exception exception)
    {
        if (_folder is null || !IsWriter) return null;
        try
        {
            _folder.WriteText("error.log", exception.ToString() + Environment.NewLine);
            return _folder.File("error.log");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Ends the run: writes <c>summary.md</c> (with <paramref name="report"/> when the run completed), the loss plot,
    /// and logs where the folder is. Returns <paramref name="outcome"/> — or <see cref="RunOutcome.Stopped"/> when an
    /// evaluation returned while a stop was requested (its table may be cut short, so it is not written).
    /// </summary>
    public RunOutcome Finish(RunOutcome outcome, int iterationsDone, EvaluationReport? report)
    {
        if (outcome == RunOutcome.Completed && report is not null && Stopping.IsCancellationRequested)
        {
            // An evaluation that returned early on a stop request (rather than throwing) may be cut short: the run is
            // stopped, not completed, and --resume evaluates it again from the checkpoint written below.
            outcome = RunOutcome.Stopped;
            report = null;
        }
        _finished = true;
        _clock.Stop();
        _progress.Stop();
        if (Settings.Group.Size > 1 && iterationsDone > 0) Settings.Group.VerifyIdentical(_metaParameters!, iterationsDone);
        if (iterationsDone > 0) Checkpoint(iterationsDone);
        _metrics.Active(_tags, -1);
        if (!IsWriter) return outcome;
        CloseCsvs();
        if (report is not null)
        {
            foreach (var row in report.Rows.Where(r => r.Model == Models.MetaLearned)) _metrics.Evaluation(_tags, row.Mean);
        }
        WriteSummary(outcome, iterationsDone, report);
        if (report is not null) Console.Out.Write(report.ToMarkdown());
        return outcome;
    }

    private void CloseCsvs()
    {
        _csv?.Flush();
        _csv?.Dispose();
        _csv = null;
        _diagnosticsCsv?.Flush();
        _diagnosticsCsv?.Dispose();
        _diagnosticsCsv = null;
    }

    private void WriteSummary(RunOutcome outcome, int iterationsDone, EvaluationReport? report)
    {
        var plot = LossPlot.TryWrite(Folder.File("loss.png"), _losses, _descriptor.Name);
        var diverged = TrainingDivergence(_losses);
        var summary = Summary(outcome, iterationsDone, report, plot, diverged);
        Folder.WriteText("summary.md", summary);
        ResultsPage.Write(Folder.Path, $"{_descriptor.Name}: {outcome.ToString().ToLowerInvariant()}", summary);
        Folder.WriteText(RunResult.FileName, JsonSerializer.Serialize(new RunResult(
            _descriptor.Name, Settings.Algorithm, outcome.ToString().ToLowerInvariant(), iterationsDone,
            _trainingSeconds, _trainedIterations / Math.Max(_trainingSeconds, 1e-9), _clock.Elapsed.TotalSeconds,
            Environment.WorkingSet / 1048576.0, System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
            _options.Resolved().ToDictionary(kv => kv.Key, kv => kv.Value),
            report?.Rows ?? [], _results) { TrainingDiverged = diverged is not null }, JsonOptions));
        if (diverged is not null) Log.TrainingDiverged(_logger, _descriptor.Name, diverged);
        Log.Finished(_logger, _descriptor.Name, outcome.ToString().ToLowerInvariant(), iterationsDone, _clock.Elapsed.TotalSeconds, Folder.File("summary.md"));
    }

    /// <summary>Meta-iterations averaged at each end of the run by <see cref="TrainingDivergence"/>.</summary>
    public const int DivergenceWindow = 100;

    /// <summary>
    /// Why a run's training diverged, or null when it did not: the mean meta-loss of its last
    /// <see cref="DivergenceWindow"/> iterations is not finite or above <see cref="Divergence.Factor"/> times the mean of its
    /// first (each window at most a tenth of the run, at least one iteration). Training is meant to lower the meta-loss; a
    /// run that ends an order of magnitude above where it began has come apart even when no value became NaN — the test
    /// rule for tasks, applied to the run. (NaN meta-gradients stop a run earlier, as an error.)
    /// </summary>
    public static string? TrainingDivergence(IReadOnlyList<double> losses)
    {
        ArgumentNullException.ThrowIfNull(losses);
        if (losses.Count < 2) return null;
        var window = Math.Clamp(losses.Count / 10, 1, DivergenceWindow);
        var first = losses.Take(window).Average();
        var last = losses.Skip(losses.Count - window).Average();
        if (double.IsFinite(last) && !(last > Divergence.Factor * first)) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"the mean meta-loss of the last {window} iterations, {EvaluationReport.Number(last)}, is {(double.IsFinite(last) ? $"above {Divergence.Factor:0}×" : "not finite; it began at")} the mean of the first {window}, {EvaluationReport.Number(first)}");
    }

    private string Summary(RunOutcome outcome, int done, EvaluationReport? report, bool plot, string? diverged)
    {
        var sb = new StringBuilder();
        var seconds = _clock.Elapsed.TotalSeconds;
        sb.AppendLine(CultureInfo.InvariantCulture, $"# {_descriptor.Name}");
        sb.AppendLine();
        sb.AppendLine(_descriptor.Description);
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"- outcome: **{outcome.ToString().ToLowerInvariant()}** after {done} of {_iterations} meta-iterations");
        if (outcome == RunOutcome.Stopped && _lastCheckpoint > 0)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- continue with `--resume {Folder.Path}` (checkpoint of iteration {_lastCheckpoint})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- wall time: {seconds:0.0} s ({done / Math.Max(seconds, 1e-9):0.##} meta-iterations/s including evaluation)");
        var phases = _progress.Durations();
        if (phases.Count > 1)
            sb.AppendLine("- where the time went: " + string.Join("; ", phases.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name} {p.Seconds:0.0} s"))));
        if (_losses.Count > 0)
        {
            var tail = _losses.Skip(Math.Max(0, _losses.Count - 100)).Average();
            sb.AppendLine(CultureInfo.InvariantCulture, $"- meta-loss: first {_losses[0]:0.000}, mean of the last {Math.Min(100, _losses.Count)} {tail:0.000}");
            if (diverged is not null) sb.AppendLine("- **diverged in training**: " + diverged);
        }
        if (Settings.MetaGradClip > 0)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- meta-gradient clipped to norm {Settings.MetaGradClip:R} in {_clippedSteps} of {_trainedIterations} meta-steps of this process (norms in {DiagnosticsFile})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; native heap: {TorchRuntime.Allocator ?? "not set up"}");
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
        foreach (var (title, markdown) in _sections)
        {
            sb.AppendLine("## " + title);
            sb.AppendLine();
            sb.AppendLine(markdown);
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

    /// <summary>Writes a checkpoint of the whole trainer state after <paramref name="iteration"/> iterations (rank 0 only).</summary>
    public void Checkpoint(int iteration)
    {
        if (_store is null || _state is null || _lastCheckpoint == iteration) return;
        _csv?.Flush();
        _diagnosticsCsv?.Flush();
        var manifest = new CheckpointManifest(_descriptor.Name, Settings.Algorithm, iteration, _configurationHash!,
            CheckpointManifest.CurrentVersions(), DateTimeOffset.UtcNow);
        _store.Save(manifest, _state);
        _lastCheckpoint = iteration;
    }

    /// <summary>Options that may differ between a run and its resumption.</summary>
    public static IReadOnlySet<string> ResumeSafeKeys { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Iterations", "LogEvery", "Output", "Threads", "EvalTasks", "EvalPoints", "PretrainIterations", "Resume",
        "CheckpointEvery", "KeepCheckpoints", "OnNonFinite", "Distributed", "Parallelism",
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _progress.Dispose();
        try
        {
            _csv?.Dispose();
            _diagnosticsCsv?.Dispose();
        }
        catch (IOException)
        {
            // The disk is full or gone: the failure was already reported; metrics.csv is truncated on resume anyway.
        }
        _csv = null;
        _diagnosticsCsv = null;
    }

    /// <summary>JSON settings of the run folder's files: indented, and NaN/∞ written as named literals (a diverged evaluation is a result too).</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Experiment}: training {Algorithm} for {Iterations} meta-iterations; run folder {Folder}")]
        public static partial void Started(ILogger logger, string experiment, string algorithm, int iterations, string folder);

        [LoggerMessage(2, LogLevel.Information, "iteration {Iteration}/{Iterations}  meta-loss {Loss:0.0000}  {Rate:0.##} it/s  RSS {ResidentMegabytes:0} MB")]
        public static partial void Progress(ILogger logger, int iteration, int iterations, double loss, double rate, double residentMegabytes);

        [LoggerMessage(3, LogLevel.Information, "{What}")]
        public static partial void Phase(ILogger logger, string what);

        [LoggerMessage(5, LogLevel.Information, "{Experiment}: resuming after iteration {Iteration} from {Checkpoint}")]
        public static partial void Resumed(ILogger logger, string experiment, int iteration, string checkpoint);

        [LoggerMessage(7, LogLevel.Information, "sampler: queue mean {Mean:0.000} std {Std:0.000}  ε {Epsilon:0.000}  mean importance weight {Weight:0.000}  ρ(counts, losses) {Rho:0.000}")]
        public static partial void SamplerState(ILogger logger, double mean, double std, double epsilon, double weight, double rho);

        [LoggerMessage(6, LogLevel.Warning, "iteration {Iteration}: skipped, {Where}")]
        public static partial void Skipped(ILogger logger, int iteration, string where);

        [LoggerMessage(9, LogLevel.Warning, "{Experiment}: diverged in training: {Reason}")]
        public static partial void TrainingDiverged(ILogger logger, string experiment, string reason);

        [LoggerMessage(4, LogLevel.Information, "{Experiment}: {Outcome} after {Iterations} meta-iterations in {Seconds:0.0} s; summary {Summary}")]
        public static partial void Finished(ILogger logger, string experiment, string outcome, int iterations, double seconds, string summary);
    }
}

/// <summary>The machine-readable outcome of a run (<c>result.json</c> in its folder), read by the comparison command.</summary>
/// <param name="Experiment">Experiment name.</param>
/// <param name="Algorithm">Algorithm tag.</param>
/// <param name="Outcome">completed or stopped.</param>
/// <param name="Iterations">Meta-iterations done.</param>
/// <param name="TrainingSeconds">Wall time of the training loop.</param>
/// <param name="IterationsPerSecond">Meta-iterations per second of the training loop (this process's iterations only).</param>
/// <param name="TotalSeconds">Wall time including evaluation.</param>
/// <param name="ResidentMegabytes">Resident set at the end.</param>
/// <param name="PeakMegabytes">Peak resident set of the process.</param>
/// <param name="Options">The resolved options.</param>
/// <param name="Evaluation">The evaluation table's rows (empty without one).</param>
/// <param name="Results">Other named results (e.g. <c>grid.mean</c>).</param>
public sealed record RunResult(string Experiment, string Algorithm, string Outcome, int Iterations, double TrainingSeconds,
    double IterationsPerSecond, double TotalSeconds, double ResidentMegabytes, double PeakMegabytes,
    IReadOnlyDictionary<string, string> Options, IReadOnlyList<EvaluationRow> Evaluation, IReadOnlyDictionary<string, double> Results)
{
    /// <summary>
    /// Whether the meta-loss ended far above where it began (<see cref="ExperimentRun.TrainingDivergence"/>): the run
    /// completed, but its model is not to be trusted. False in result files written before the flag existed.
    /// </summary>
    public bool TrainingDiverged { get; init; }

    /// <summary>The file name in a run folder.</summary>
    public const string FileName = "result.json";
}
