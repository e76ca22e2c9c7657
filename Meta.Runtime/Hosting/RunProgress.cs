using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Meta.Hosting;

/// <summary>
/// What a run is doing, for a person watching it. With standard output an interactive terminal, a live display
/// (Spectre.Console) shows one bar per phase — training with iteration, it/s, meta-loss and resident memory, then the
/// evaluation and baseline phases — refreshed four times a second by its own thread; log lines appear above it.
/// Otherwise (redirected, CI, <c>META_PROGRESS=plain</c>) every phase reports as plain log lines at least every
/// <see cref="PlainInterval"/>. The training loop only writes two fields per iteration, so watching costs nothing
/// measurable.
/// </summary>
public sealed partial class RunProgress : IDisposable
{
    /// <summary>Longest gap between two plain progress lines of a phase.</summary>
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    /// <summary>The environment variable that forces plain lines (<c>plain</c>) even on a terminal.</summary>
    public const string ModeVariable = "META_PROGRESS";

    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly List<PhaseProgress> _phases = [];
    private Thread? _display;
    private volatile bool _stopping;

    /// <summary>Creates the progress of one run, logging plain lines to <paramref name="logger"/>.</summary>
    public RunProgress(ILogger logger) => _logger = logger;

    /// <summary>Whether this process draws live bars: stdout is an interactive terminal and <see cref="ModeVariable"/> is not <c>plain</c>.</summary>
    public static bool Live { get; } =
        !string.Equals(Environment.GetEnvironmentVariable(ModeVariable), "plain", StringComparison.OrdinalIgnoreCase)
        && !Console.IsOutputRedirected
        && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Starts a phase of <paramref name="total"/> units (completing the previous one); <paramref name="done"/> are already
    /// done (a resumed run). The live display starts with the first phase.
    /// </summary>
    public PhaseProgress Begin(string name, long total, string unit, long done = 0)
    {
        var phase = new PhaseProgress(this, name, Math.Max(1, total), unit, done);
        lock (_gate)
        {
            foreach (var p in _phases) p.Complete();
            _phases.Add(phase);
            if (Live && _display is null && !_stopping)
            {
                _display = new Thread(Render) { IsBackground = true, Name = "progress" };
                _display.Start();
            }
        }
        return phase;
    }

    /// <summary>The phases so far with their wall time, for the summary.</summary>
    public IReadOnlyList<(string Name, double Seconds)> Durations()
    {
        lock (_gate) return [.. _phases.Select(p => (p.Name, p.Elapsed.TotalSeconds))];
    }

    /// <summary>Completes every phase and takes the live display down (its last frame stays on the screen).</summary>
    public void Stop()
    {
        Thread? display;
        lock (_gate)
        {
            foreach (var p in _phases) p.Complete();
            _stopping = true;
            display = _display;
        }
        display?.Join(TimeSpan.FromSeconds(5));
    }

    /// <inheritdoc />
    public void Dispose() => Stop();

    /// <summary>In plain mode, logs a line for <paramref name="phase"/> when its last one is <see cref="PlainInterval"/> old.</summary>
    internal void Advanced(PhaseProgress phase)
    {
        if (Live || !phase.LineDue()) return;
        Log.PhaseProgress(_logger, phase.Name, phase.Done, phase.Total, phase.Unit, phase.Rate());
    }

    private void Render()
    {
        try
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .AutoRefresh(false)   // one render per loop below (4 a second), not Spectre's own 10
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 16 },
                    new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var shown = new Dictionary<PhaseProgress, ProgressTask>();
                    while (true)
                    {
                        bool stopping;
                        PhaseProgress[] phases;
                        lock (_gate)
                        {
                            stopping = _stopping;
                            phases = [.. _phases];
                        }
                        foreach (var phase in phases)
                        {
                            if (!shown.TryGetValue(phase, out var task))
                                shown[phase] = task = context.AddTask(Markup.Escape(phase.Describe()), maxValue: phase.Total);
                            task.Value = phase.Done;
                            task.Description = Markup.Escape(phase.Describe());
                            if (phase.Completed && !task.IsFinished) task.StopTask();
                        }
                        context.Refresh();
                        if (stopping) return;
                        Thread.Sleep(250);
                    }
                });
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // Another live display or a closed terminal: progress is a convenience, the run goes on.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Information, "{Phase}: {Done}/{Total} {Unit}  {Rate:0.#}/s")]
        public static partial void PhaseProgress(ILogger logger, string phase, long done, long total, string unit, double rate);
    }
}

/// <summary>
/// One phase of a run (training, evaluation, a baseline): a count towards a total, cheap to advance from the loop that
/// does the work (plain field writes; the display thread reads them).
/// </summary>
public sealed class PhaseProgress : IDisposable
{
    private readonly RunProgress _owner;
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly long _startDone;
    private long _done;
    private double _loss = double.NaN;
    private long _endTimestamp;
    private long _lastLine;
    private (long Timestamp, long Done, double Rate) _rate;

    internal PhaseProgress(RunProgress owner, string name, long total, string unit, long done)
    {
        _owner = owner;
        Name = name;
        Total = total;
        Unit = unit;
        _done = _startDone = done;
        _lastLine = _startTimestamp;
        _rate = (_startTimestamp, done, double.NaN);
    }

    /// <summary>What the phase does.</summary>
    public string Name { get; }

    /// <summary>Units of work in the phase.</summary>
    public long Total { get; }

    /// <summary>What a unit is (it, tasks, episodes).</summary>
    public string Unit { get; }

    /// <summary>Units done.</summary>
    public long Done => Volatile.Read(ref _done);

    /// <summary>Whether the phase has ended.</summary>
    public bool Completed => Volatile.Read(ref _endTimestamp) != 0;

    /// <summary>Wall time of the phase so far (or in all, once completed).</summary>
    public TimeSpan Elapsed => Completed
        ? Stopwatch.GetElapsedTime(_startTimestamp, Volatile.Read(ref _endTimestamp))
        : Stopwatch.GetElapsedTime(_startTimestamp);

    /// <summary>Adds <paramref name="count"/> units done.</summary>
    public void Advance(long count = 1)
    {
        Interlocked.Add(ref _done, count);
        _owner.Advanced(this);
    }

    /// <summary>Sets the units done and the latest loss (the training loop: two field writes, nothing else).</summary>
    public void Report(long done, double loss)
    {
        Volatile.Write(ref _loss, loss);
        Volatile.Write(ref _done, done);
    }

    /// <summary>Ends the phase (idempotent).</summary>
    public void Complete() => Interlocked.CompareExchange(ref _endTimestamp, Stopwatch.GetTimestamp(), 0);

    /// <inheritdoc />
    public void Dispose() => Complete();

    /// <summary>Units per second since the phase began (this process's units only).</summary>
    public double Rate() => (Done - _startDone) / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>Whether a plain line is due (and if so, restarts the interval). Called by the working thread only.</summary>
    internal bool LineDue()
    {
        var now = Stopwatch.GetTimestamp();
        if (Stopwatch.GetElapsedTime(_lastLine, now) < RunProgress.PlainInterval) return false;
        _lastLine = now;
        return true;
    }

    /// <summary>The live description: name, count, rate over the last second or so, loss and resident memory for training.</summary>
    internal string Describe()
    {
        var now = Stopwatch.GetTimestamp();
        var done = Done;
        var (then, before, rate) = _rate;
        var seconds = Stopwatch.GetElapsedTime(then, now).TotalSeconds;
        if (seconds >= 1 || double.IsNaN(rate) && seconds > 0.2)
        {
            rate = (done - before) / seconds;
            _rate = (now, done, rate);
        }
        if (Completed) rate = Rate();
        // Short enough for an 80-column terminal: "training 12,000/20,000 it 812 it/s loss 0.4321 245 MB".
        var text = string.Create(CultureInfo.InvariantCulture, $"{Name,-10} {done:N0}/{Total:N0} {Unit}");
        if (double.IsFinite(rate)) text += string.Create(CultureInfo.InvariantCulture, $" {rate:0.#} {Unit}/s");
        var loss = Volatile.Read(ref _loss);
        if (!double.IsNaN(loss))
            text += string.Create(CultureInfo.InvariantCulture, $" loss {loss:0.0000} {Environment.WorkingSet / 1048576.0:0} MB");
        return text;
    }
}
