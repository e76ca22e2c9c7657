using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Meta.Telemetry;

/// <summary>The names Meta's telemetry is published under.</summary>
public static class MetaTelemetry
{
    /// <summary>The one meter every Meta instrument belongs to.</summary>
    public const string MeterName = "Meta.Runtime";

    /// <summary>Tag: the experiment's name.</summary>
    public const string ExperimentTag = "metalearn.experiment.name";

    /// <summary>Tag: the algorithm (maml, fomaml, …).</summary>
    public const string AlgorithmTag = "metalearn.algorithm";

    /// <summary>Tag: the rank of a distributed run.</summary>
    public const string RankTag = "metalearn.rank";

    /// <summary>Tag: the phase (outer, eval).</summary>
    public const string PhaseTag = "metalearn.phase";

    /// <summary>Tag: the name of an algorithm's diagnostic (<c>cg.residual</c>, <c>rates.min</c>, …).</summary>
    public const string DiagnosticTag = "metalearn.diagnostic.name";
}

/// <summary>
/// Meta's instruments, created once from the host's <see cref="IMeterFactory"/>. Generated trainers call these methods
/// and never create instruments. Tags carry the experiment and algorithm, never task ids or step numbers.
/// </summary>
public sealed class MetaTrainingMetrics
{
    private readonly Histogram<double> _outerStepDuration;
    private readonly Counter<long> _outerSteps;
    private readonly Counter<long> _tasks;
    private readonly Gauge<double> _loss;
    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _skipped;
    private readonly Gauge<double> _queueMean;
    private readonly Gauge<double> _queueStd;
    private readonly Gauge<double> _epsilon;
    private readonly Gauge<double> _importance;
    private readonly Gauge<double> _spearman;
    private readonly Gauge<double> _gradientNorm;
    private readonly Gauge<double> _diagnostic;
    private readonly Counter<long> _clipped;

    /// <summary>Creates the instruments on the <see cref="MetaTelemetry.MeterName"/> meter.</summary>
    public MetaTrainingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MetaTelemetry.MeterName);
        _outerStepDuration = meter.CreateHistogram<double>("metalearn.outer.step.duration", "s", "Duration of one meta-iteration (outer step).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        _outerSteps = meter.CreateCounter<long>("metalearn.outer.steps", "{step}", "Meta-iterations completed.");
        _tasks = meter.CreateCounter<long>("metalearn.sampler.tasks", "{task}", "Tasks sampled into meta-batches.");
        _loss = meter.CreateGauge<double>("metalearn.loss", "1", "Latest loss: the meta-loss (phase=outer) or an evaluation loss (phase=eval).");
        _skipped = meter.CreateCounter<long>("metalearn.outer.steps.skipped", "{step}", "Meta-steps skipped because of NaN or infinity.");
        _queueMean = meter.CreateGauge<double>("metalearn.sampler.queue.mean", "1", "Mean loss stored in the priority queue.");
        _queueStd = meter.CreateGauge<double>("metalearn.sampler.queue.std", "1", "Standard deviation of the losses stored in the priority queue.");
        _epsilon = meter.CreateGauge<double>("metalearn.sampler.epsilon", "1", "Current ε of ε-greedy sampling.");
        _importance = meter.CreateGauge<double>("metalearn.sampler.importance_weight.mean", "1", "Mean importance weight of the last meta-batch.");
        _spearman = meter.CreateGauge<double>("metalearn.sampler.count_loss.correlation", "1", "Spearman rank correlation of per-cell sample counts against losses.");
        _gradientNorm = meter.CreateGauge<double>("metalearn.outer.gradient.norm", "1", "Global L2 norm of the latest meta-gradient, before any clipping.");
        _diagnostic = meter.CreateGauge<double>("metalearn.algorithm.diagnostic", "1", "A number the algorithm reports about its latest meta-step, by name (tag metalearn.diagnostic.name).");
        _clipped = meter.CreateCounter<long>("metalearn.outer.steps.clipped", "{step}", "Meta-steps whose meta-gradient was clipped to --meta-grad-clip.");
        _active = meter.CreateUpDownCounter<long>("metalearn.experiment.active", "{experiment}", "Experiments currently training.");
    }

    /// <summary>Tags for one experiment and algorithm.</summary>
    public static TagList Tags(string experiment, string algorithm) => new()
    {
        { MetaTelemetry.ExperimentTag, experiment },
        { MetaTelemetry.AlgorithmTag, algorithm },
    };

    /// <summary>Records one completed meta-iteration.</summary>
    public void OuterStep(in TagList tags, double seconds, double metaLoss, int tasks)
    {
        _outerStepDuration.Record(seconds, tags);
        _outerSteps.Add(1, tags);
        _tasks.Add(tasks, tags);
        var withPhase = tags;
        withPhase.Add(MetaTelemetry.PhaseTag, "outer");
        _loss.Record(metaLoss, withPhase);
    }

    /// <summary>Records an evaluation loss.</summary>
    public void Evaluation(in TagList tags, double loss)
    {
        var withPhase = tags;
        withPhase.Add(MetaTelemetry.PhaseTag, "eval");
        _loss.Record(loss, withPhase);
    }

    /// <summary>Records the state of a task sampler (NaN values, e.g. ε of a non-ε-greedy sampler, are not recorded).</summary>
    public void Sampler(in TagList tags, double queueMean, double queueStd, double? epsilon, double? importanceWeightMean, double spearman)
    {
        if (double.IsFinite(queueMean)) _queueMean.Record(queueMean, tags);
        if (double.IsFinite(queueStd)) _queueStd.Record(queueStd, tags);
        if (epsilon is { } e) _epsilon.Record(e, tags);
        if (importanceWeightMean is { } w) _importance.Record(w, tags);
        if (double.IsFinite(spearman)) _spearman.Record(spearman, tags);
    }

    /// <summary>
    /// Records the meta-gradient's norm (before clipping) and the algorithm's diagnostics of one meta-step (non-finite
    /// values are not recorded).
    /// </summary>
    public void StepDiagnostics(in TagList tags, double gradientNorm, IReadOnlyDictionary<string, double>? diagnostics)
    {
        if (double.IsFinite(gradientNorm)) _gradientNorm.Record(gradientNorm, tags);
        if (diagnostics is null) return;
        foreach (var (name, value) in diagnostics)
        {
            if (!double.IsFinite(value)) continue;
            var named = tags;
            named.Add(MetaTelemetry.DiagnosticTag, name);
            _diagnostic.Record(value, named);
        }
    }

    /// <summary>Counts a meta-step whose meta-gradient was clipped.</summary>
    public void ClippedStep(in TagList tags) => _clipped.Add(1, tags);

    /// <summary>Counts a meta-step skipped for a non-finite loss or gradient.</summary>
    public void SkippedStep(in TagList tags) => _skipped.Add(1, tags);

    /// <summary>Marks an experiment as started (+1) or ended (−1).</summary>
    public void Active(in TagList tags, int delta) => _active.Add(delta, tags);
}
