using System.Runtime.ExceptionServices;
using Meta.Algorithms;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>How a run uses its <c>--threads</c>.</summary>
public enum Parallelism
{
    /// <summary>libtorch's intra-op threads split each operation (large convolutions and matrix products gain; small MLPs do not).</summary>
    Operations,

    /// <summary>
    /// Task-parallel meta-steps: each meta-batch is split into <c>--threads</c> contiguous chunks of tasks, each chunk's
    /// meta-step runs on its own thread with one libtorch thread, and the results combine as the task-count-weighted mean.
    /// </summary>
    Tasks,
}

/// <summary>
/// Runs meta-steps, either on the calling thread or split over the tasks of the meta-batch on several threads. The
/// episode is drawn once by the caller (so sampling and its random numbers stay on one thread, in one order); chunk c
/// of n_c contiguous tasks runs <see cref="IMetaAlgorithm.MetaStep"/> on its own thread, and the chunks combine the way
/// data-parallel ranks do (<see cref="Distributed.AllReducerExtensions.AverageGradient"/>): gradient and meta-loss
/// Σ_c (n_c / T)·x_c, task losses concatenated in task order, diagnostics by <see cref="CombineDiagnostics"/>. This is
/// exact for every algorithm whose meta-loss is a mean over tasks of per-task terms (task weights included, since each
/// chunk receives its own slice of them); an algorithm that is not (<see cref="IMetaAlgorithm.TaskParallel"/> false)
/// runs each step whole on the calling thread.
/// </summary>
/// <remarks>
/// An algorithm that can split a step itself (<see cref="IMetaAlgorithm.SplitMetaStep"/>: MAML on the MLP's managed
/// kernel, bit for bit its one-thread result) does so, on the same threads, with no sub-episodes and no combination.
/// The threads are a <see cref="TaskSplitter"/>'s, living as long as this object (one per chunk beyond the first; the
/// calling thread runs the first chunk) and spinning briefly between steps. libtorch's dispose scopes and grad mode are per thread: each chunk runs in its own dispose scope under the caller's
/// grad mode, and its results are moved out of that scope and disposed by the caller once combined. The intra-op
/// thread count is set to 1 when more than one worker exists (every worker thread and the caller), since the chunks
/// already occupy the cores.
/// </remarks>
public sealed class TaskParallel : IDisposable
{
    private readonly TaskSplitter _splitter;
    private bool _disposed;
    private bool _warned;

    /// <summary>
    /// Creates a runner over <paramref name="threads"/> threads (the calling thread and threads − 1 workers); 1 runs every
    /// step on the calling thread, exactly as <see cref="IMetaAlgorithm.MetaStep"/> alone.
    /// </summary>
    public TaskParallel(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a task-parallel runner needs at least one thread");
        Threads = threads;
        if (threads > 1)
        {
            TorchRuntime.EnsureLoaded();
            torch.set_num_threads(1);
        }
        _splitter = new TaskSplitter(threads);
    }

    /// <summary>
    /// The runner a run's options ask for: task-parallel over <paramref name="threads"/> in <see cref="Parallelism.Tasks"/>,
    /// the calling thread only otherwise. <paramref name="declined"/> becomes <see cref="Declined"/>.
    /// </summary>
    public static TaskParallel For(Parallelism parallelism, int threads, Action<string>? declined = null) =>
        new(parallelism == Parallelism.Tasks ? threads : 1) { Declined = declined };

    /// <summary>Threads a step may use (chunks per meta-batch, at most one per task).</summary>
    public int Threads { get; }

    /// <summary>Called once, with a one-line reason, the first time an algorithm declines task-parallel steps.</summary>
    public Action<string>? Declined { get; init; }

    /// <summary>
    /// The meta-step of <paramref name="algorithm"/> on <paramref name="episode"/>: the same result as
    /// <c>algorithm.MetaStep(metaParameters, episode, taskWeights)</c>, up to the rounding of the combination.
    /// When the step is split over threads, <paramref name="alongside"/> runs once on the calling thread while the workers
    /// start on their tasks (the trainer draws the next episode there, <see cref="EpisodeLookahead"/>); otherwise it does
    /// not run at all, so a caller must cope with either.
    /// </summary>
    public MetaStepResult MetaStep(IMetaAlgorithm algorithm, Tensor metaParameters, Episode episode, Tensor? taskWeights = null, Action? alongside = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(episode);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tasks = episode.Tasks;
        var chunks = (int)Math.Min(Threads, tasks);
        if (chunks <= 1) return algorithm.MetaStep(metaParameters, episode, taskWeights);
        if (!algorithm.TaskParallel)
        {
            if (!_warned) Declined?.Invoke($"{algorithm.Name} does not support task-parallel meta-steps in this configuration; each step runs on one thread");
            _warned = true;
            return algorithm.MetaStep(metaParameters, episode, taskWeights);
        }
        // Checked here, before any slice: a narrow of wrong-sized weights would silently give a chunk the wrong ones.
        if (taskWeights is not null && (taskWeights.dim() != 1 || taskWeights.Dims()[0] != tasks))
            throw new ArgumentException($"task weights must be [{tasks}], got [{string.Join(", ", taskWeights.Dims())}]");
        _splitter.Alongside = alongside;
        try
        {
            // The algorithm's own split where it has one (MAML in the MLP's kernel: no sub-episodes, no combination).
            return algorithm.SplitMetaStep(metaParameters, episode, taskWeights, _splitter) ?? ChunkedMetaStep(algorithm, metaParameters, episode, taskWeights, chunks);
        }
        finally
        {
            _splitter.Alongside = null;                  // not run when the algorithm's split fell back to one thread
        }
    }

    // The episode in contiguous chunks, one algorithm.MetaStep per chunk, combined as ranks combine.
    private MetaStepResult ChunkedMetaStep(IMetaAlgorithm algorithm, Tensor metaParameters, Episode episode, Tensor? taskWeights, int chunks)
    {
        var tasks = episode.Tasks;

        var counts = new long[chunks];
        for (var c = 0; c < chunks; c++) counts[c] = tasks / chunks + (c < tasks % chunks ? 1 : 0);
        // One split per tensor (views, no copy): fewer libtorch calls on the calling thread than a narrow per chunk.
        var supportX = episode.SupportX.split(counts);
        var supportY = episode.SupportY.split(counts);
        var queryX = episode.QueryX.split(counts);
        var queryY = episode.QueryY.split(counts);
        var weights = taskWeights?.split(counts);
        var jobs = new Job[chunks];
        var gradMode = torch.is_grad_enabled();
        for (var c = 0; c < chunks; c++)
            jobs[c] = new Job(algorithm, metaParameters, new Episode(supportX[c], supportY[c], queryX[c], queryY[c]), weights?[c], gradMode);
        _splitter.Run(chunks, chunk => jobs[chunk].Run());

        var failure = jobs.FirstOrDefault(j => j.Failure is not null)?.Failure;
        try
        {
            if (failure is not null) failure.Throw();
            return Combine(jobs.Select(j => j.Result!).ToArray(), counts);
        }
        finally
        {
            foreach (var job in jobs) job.DisposeResult();
        }
    }

    /// <summary>
    /// Combines the results of consecutive chunks of one meta-batch, chunk c holding <paramref name="counts"/>[c] tasks:
    /// gradient and meta-loss Σ_c (n_c / T)·x_c, task losses concatenated, diagnostics by <see cref="CombineDiagnostics"/>.
    /// The result's tensors are new (in the caller's dispose scope); the chunks' are left to the caller.
    /// </summary>
    public static MetaStepResult Combine(IReadOnlyList<MetaStepResult> chunks, IReadOnlyList<long> counts)
    {
        if (chunks.Count == 0 || chunks.Count != counts.Count) throw new ArgumentException("one task count per chunk, and at least one chunk");
        var total = (double)counts.Sum();
        using var noGrad = no_grad();
        var gradient = chunks[0].Gradient.mul(counts[0] / total);
        var metaLoss = chunks[0].MetaLoss.mul(counts[0] / total);
        for (var c = 1; c < chunks.Count; c++)
        {
            gradient.add_(chunks[c].Gradient, alpha: counts[c] / total);
            metaLoss.add_(chunks[c].MetaLoss, alpha: counts[c] / total);
        }
        return new MetaStepResult(gradient, metaLoss, cat(chunks.Select(r => r.TaskLosses).ToArray(), 0))
        {
            Diagnostics = CombineDiagnostics(chunks.Select(r => r.Diagnostics).ToArray(), counts),
        };
    }

    /// <summary>
    /// Merges the chunks' diagnostics by name: a name ending in <c>.max</c> takes the largest value, <c>.min</c> the
    /// smallest, <c>.tasks</c> (a count of tasks) the sum, and any other name the task-count-weighted mean (exact for
    /// means and fractions over tasks, and for values that do not depend on the tasks, such as the learned rates'
    /// range; a median becomes the weighted mean of the chunks' medians). A name some chunks lack is merged over the
    /// chunks that have it. Null when no chunk reports any.
    /// </summary>
    public static IReadOnlyDictionary<string, double>? CombineDiagnostics(IReadOnlyList<IReadOnlyDictionary<string, double>?> chunks, IReadOnlyList<long> counts)
    {
        if (chunks.All(d => d is null)) return null;
        var merged = new Dictionary<string, double>(StringComparer.Ordinal);
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var c = 0; c < chunks.Count; c++)
        {
            if (chunks[c] is not { } values) continue;
            foreach (var (name, value) in values)
            {
                var seen = merged.TryGetValue(name, out var current);
                if (name.EndsWith(".max", StringComparison.Ordinal)) merged[name] = seen ? Extreme(current, value, Math.Max) : value;
                else if (name.EndsWith(".min", StringComparison.Ordinal)) merged[name] = seen ? Extreme(current, value, Math.Min) : value;
                else if (name.EndsWith(".tasks", StringComparison.Ordinal)) merged[name] = current + value;
                else
                {
                    merged[name] = current + value * counts[c];
                    weights[name] = weights.GetValueOrDefault(name) + counts[c];
                }
            }
        }
        foreach (var (name, weight) in weights) merged[name] /= weight;
        return merged;
    }

    // NaN wins, so a chunk's non-finite diagnostic is not hidden by another's finite one.
    private static double Extreme(double a, double b, Func<double, double, double> pick) =>
        double.IsNaN(a) || double.IsNaN(b) ? double.NaN : pick(a, b);

    /// <summary>Stops and joins the worker threads.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _splitter.Dispose();
    }

    /// <summary>One chunk's meta-step and its outcome.</summary>
    private sealed class Job(IMetaAlgorithm algorithm, Tensor metaParameters, Episode episode, Tensor? taskWeights, bool gradMode)
    {
        public MetaStepResult? Result { get; private set; }

        public ExceptionDispatchInfo? Failure { get; private set; }

        public void Run()
        {
            try
            {
                using var mode = gradMode ? enable_grad() : no_grad();
                using var scope = NewDisposeScope();
                var result = algorithm.MetaStep(metaParameters, episode, taskWeights);
                // Out of this thread's scopes: the caller combines them and then disposes them.
                Result = result with
                {
                    Gradient = result.Gradient.DetachFromDisposeScope(),
                    MetaLoss = result.MetaLoss.DetachFromDisposeScope(),
                    TaskLosses = result.TaskLosses.DetachFromDisposeScope(),
                };
            }
            catch (Exception e)
            {
                Failure = ExceptionDispatchInfo.Capture(e);
            }
        }

        public void DisposeResult()
        {
            if (Result is not { } r) return;
            r.Gradient.Dispose();
            r.MetaLoss.Dispose();
            r.TaskLosses.Dispose();
            Result = null;
        }
    }
}
