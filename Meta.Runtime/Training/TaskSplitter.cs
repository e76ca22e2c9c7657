using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Meta.Training;

/// <summary>
/// Long-lived threads that share the work of one meta-step: <see cref="Run"/> hands part c ≥ 1 to worker c and runs
/// part 0 on the calling thread. The hand-off is what matters for meta-steps of a few hundred microseconds (the MLP's
/// managed kernel): a worker spins on a counter between steps, so a step starts on it within a microsecond instead of
/// the tens of microseconds a semaphore wake-up costs, and it falls asleep only after
/// <see cref="SpinBeforeSleeping"/> without work (evaluation, checkpoints, the end of a run), when the next post wakes it
/// through a monitor. The caller waits for its workers the same way: spinning first, then yielding.
/// </summary>
/// <remarks>
/// Each chunk's exception is captured and the first (in chunk order) rethrown on the calling thread after every chunk has
/// finished, so no worker is still writing into the caller's buffers when it unwinds. Workers set libtorch's per-thread
/// intra-op thread count to 1 (OpenMP's count is per thread: a new thread would otherwise take every core).
/// </remarks>
public sealed class TaskSplitter : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps.</summary>
    public static readonly TimeSpan SpinBeforeSleeping = TimeSpan.FromMilliseconds(2);

    private readonly Worker[] _workers;
    private bool _disposed;

    /// <summary>A splitter over <paramref name="threads"/> threads: the calling thread and threads − 1 workers.</summary>
    public TaskSplitter(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a task splitter needs at least one thread");
        Threads = threads;
        _workers = new Worker[threads - 1];
        for (var i = 0; i < _workers.Length; i++) _workers[i] = new Worker(i + 1);
    }

    /// <summary>The threads a step may use, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>
    /// Work for the calling thread to do once, at the start of the next <see cref="Run"/>, while the workers start on
    /// their parts (drawing the next episode ahead, <see cref="TaskParallel.MetaStep"/>); then it takes part 0.
    /// </summary>
    internal Action? Alongside { get; set; }

    /// <summary>
    /// Runs <paramref name="body"/>(c) for c = 0 … <paramref name="parts"/> − 1 (at most <see cref="Threads"/>), part 0 on
    /// the calling thread and part c on worker c, and returns when all have finished; the first exception, in part order
    /// (<see cref="Alongside"/>'s before part 0's), is rethrown then. Every part runs, whatever failed before it, so parts
    /// may wait for one another.
    /// </summary>
    public void Run(int parts, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (parts < 1 || parts > Threads) throw new ArgumentOutOfRangeException(nameof(parts), parts, $"between 1 and {Threads} parts");
        for (var c = 1; c < parts; c++)
        {
            var part = c;
            _workers[c - 1].Post(() => body(part));
        }
        ExceptionDispatchInfo? first = null;
        var alongside = Alongside;
        Alongside = null;
        try
        {
            alongside?.Invoke();
        }
        catch (Exception e)
        {
            first = ExceptionDispatchInfo.Capture(e);
        }
        try
        {
            body(0);                                       // even after a failed alongside: a part may wait for the others
        }
        catch (Exception e)
        {
            first ??= ExceptionDispatchInfo.Capture(e);
        }
        for (var c = 1; c < parts; c++)
        {
            var failure = _workers[c - 1].Finish();
            first ??= failure;
        }
        first?.Throw();
    }

    /// <summary>Stops and joins the workers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var worker in _workers) worker.Stop();
    }

    private sealed class Worker
    {
        private static readonly long SpinTicks = (long)(SpinBeforeSleeping.TotalSeconds * Stopwatch.Frequency);
        private readonly object _gate = new();
        private readonly Thread _thread;
        private Action? _job;
        private ExceptionDispatchInfo? _failure;
        private long _posted;     // jobs posted (written by the caller)
        private long _finished;   // jobs finished (written by the worker)
        private volatile bool _sleeping;
        private volatile bool _stopping;

        public Worker(int index)
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = $"meta-step worker {index}" };
            _thread.Start();
        }

        public void Post(Action job)
        {
            _job = job;
            _failure = null;
            Interlocked.Increment(ref _posted);            // a full fence: the job is visible before the count
            if (_sleeping) Wake();
        }

        // Spin while the job is likely short, then yield the core (the worker may share it with other threads).
        public ExceptionDispatchInfo? Finish()
        {
            var target = Volatile.Read(ref _posted);
            var spinner = new SpinWait();
            var start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _finished) != target)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks) Thread.SpinWait(20);
                else spinner.SpinOnce(sleep1Threshold: -1);
            }
            return _failure;
        }

        public void Stop()
        {
            _stopping = true;
            Interlocked.Increment(ref _posted);
            Wake();
            _thread.Join();
        }

        private void Wake()
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }

        private void Loop()
        {
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(1);
            long seen = 0;
            while (true)
            {
                var start = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _posted) == seen)
                {
                    if (Stopwatch.GetTimestamp() - start < SpinTicks)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    lock (_gate)
                    {
                        _sleeping = true;
                        Interlocked.MemoryBarrier();               // pairs with Post's increment: one of the two sees the other
                        while (Volatile.Read(ref _posted) == seen) Monitor.Wait(_gate);
                        _sleeping = false;
                    }
                }
                seen = Volatile.Read(ref _posted);
                if (_stopping) return;
                try
                {
                    _job!();
                }
                catch (Exception e)
                {
                    _failure = ExceptionDispatchInfo.Capture(e);
                }
                _job = null;
                Volatile.Write(ref _finished, seen);
            }
        }
    }
}
