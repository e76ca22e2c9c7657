using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Meta.Hosting;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Sampling;

/// <summary>
/// What every sampler shares: turning chosen parameters into tensors, feeding losses back, and the draw counter. A
/// regime implements <see cref="Fill"/>, which writes T rows of parameters (and cells and weights where it has them)
/// into plain arrays.
/// </summary>
public abstract class TaskSampler : ITaskSampler
{
    /// <summary>Sets up the sampler.</summary>
    protected TaskSampler(SamplerKind kind, IContinuousTaskFamily family, PriorityQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(family.Parameters);
        Kind = kind;
        Family = family;
        Options = options;
    }

    /// <inheritdoc />
    public SamplerKind Kind { get; }

    /// <inheritdoc />
    public IContinuousTaskFamily Family { get; }

    /// <summary>The options the sampler was built with.</summary>
    public PriorityQueueOptions Options { get; }

    /// <inheritdoc />
    public abstract PriorityQueue? Queue { get; }

    /// <inheritdoc />
    public long Draws { get; private set; }

    /// <inheritdoc />
    public virtual double? Epsilon => null;

    /// <summary>Whether draws carry importance weights.</summary>
    protected virtual bool Weighted => false;

    /// <summary>Tasks drawn while ε was decaying (ε-greedy); kept here so that the state is one record for all regimes.</summary>
    protected long DecayedDraws { get; set; }

    /// <inheritdoc />
    public TaskDraw Draw(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "draw at least one task");
        var dimensions = Family.Parameters.Count;
        var values = new double[count * dimensions];
        var cells = Queue is null ? null : new int[count];
        var weights = Weighted ? new double[count] : null;
        Fill(count, values, cells, weights);
        Draws++;
        var parameters = ToTensor(values, [count, dimensions], Family.DType);
        var weightTensor = weights is null ? null : ToTensor(weights, [count], Family.DType);
        return new TaskDraw(parameters, weightTensor, cells, values, weights);
    }

    /// <summary>One native call for the common dtypes (a float64 tensor plus a conversion costs a second one).</summary>
    private static Tensor ToTensor(double[] values, long[] shape, ScalarType dtype)
    {
        switch (dtype)
        {
            case ScalarType.Float64:
                return tensor(values, shape, ScalarType.Float64);
            case ScalarType.Float32:
                var single = new float[values.Length];
                for (var i = 0; i < values.Length; i++) single[i] = (float)values[i];
                return tensor(single, shape, ScalarType.Float32);
            default:
                using (var wide = tensor(values, shape, ScalarType.Float64)) return wide.to_type(dtype);
        }
    }

    /// <inheritdoc />
    public void Observe(TaskDraw draw, Tensor taskLosses)
    {
        ArgumentNullException.ThrowIfNull(draw);
        ArgumentNullException.ThrowIfNull(taskLosses);
        if (taskLosses.dim() != 1 || taskLosses.Dims()[0] != draw.Count || !taskLosses.is_floating_point())
            throw new ArgumentException($"task losses must be a floating-point [{draw.Count}] tensor, got [{string.Join(", ", taskLosses.Dims())}] {taskLosses.dtype}", nameof(taskLosses));
        if (Queue is null) return;
        Observe(draw, ReadLosses(taskLosses));
    }

    /// <summary>The losses as doubles: read in place when the tensor is a contiguous CPU float32/float64 one (the usual case).</summary>
    private static double[] ReadLosses(Tensor losses)
    {
        if (losses.device_type == DeviceType.CPU && losses.is_contiguous() && !losses.requires_grad)
        {
            if (losses.dtype == ScalarType.Float64) return losses.data<double>().ToArray();
            if (losses.dtype == ScalarType.Float32)
            {
                var single = losses.data<float>().ToArray();
                var result = new double[single.Length];
                for (var i = 0; i < single.Length; i++) result[i] = single[i];
                return result;
            }
        }
        using var scope = NewDisposeScope();
        return losses.detach().to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
    }

    /// <inheritdoc />
    public void Observe(TaskDraw draw, ReadOnlySpan<double> taskLosses)
    {
        ArgumentNullException.ThrowIfNull(draw);
        if (taskLosses.Length != draw.Count)
            throw new ArgumentException($"expected {draw.Count} task losses, got {taskLosses.Length}", nameof(taskLosses));
        for (var t = 0; t < taskLosses.Length; t++)
            if (!double.IsFinite(taskLosses[t]) || taskLosses[t] < 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"task {t}: loss {taskLosses[t]} is not finite and ≥ 0; the queue only stores such losses"), nameof(taskLosses));
        if (Queue is not { } queue) return;
        var cells = draw.Cells ?? throw new ArgumentException("this draw has no cells: it did not come from a grid sampler", nameof(draw));
        for (var t = 0; t < cells.Length; t++) queue.Insert(cells[t], taskLosses[t]);
    }

    /// <inheritdoc />
    public TaskSamplerState ExportState() =>
        new(Kind, Draws, DecayedDraws, Queue is null ? ExportRandom() : null, Queue?.ExportState());

    /// <inheritdoc />
    public void ImportState(TaskSamplerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != Kind)
            throw new ArgumentException($"sampler state is for --sampler {OptionNames.Kebab(state.Kind.ToString())}, this sampler is {OptionNames.Kebab(Kind.ToString())}", nameof(state));
        if (state.Draws < 0 || state.DecayedDraws < 0) throw new ArgumentException("sampler state: counters must be ≥ 0", nameof(state));
        if (Queue is { } queue)
            queue.ImportState(state.Queue ?? throw new ArgumentException("sampler state: the priority queue's state is missing", nameof(state)));
        else
            ImportRandom(state.Random ?? throw new ArgumentException("sampler state: the random state is missing", nameof(state)));
        Draws = state.Draws;
        DecayedDraws = state.DecayedDraws;
    }

    /// <summary>
    /// Chooses <paramref name="count"/> tasks: row t of <paramref name="values"/> [count·D] gets task t's parameters,
    /// <paramref name="cells"/> its cell (when the sampler has a queue), <paramref name="weights"/> its importance weight
    /// (when weighted). <see cref="Draws"/> is the index of this draw.
    /// </summary>
    protected abstract void Fill(int count, Span<double> values, int[]? cells, double[]? weights);

    /// <summary>The random state of a sampler without a queue.</summary>
    protected virtual ulong[] ExportRandom() => throw new NotSupportedException("a sampler without a queue must export its random state");

    /// <summary>Restores the random state of a sampler without a queue.</summary>
    protected virtual void ImportRandom(ulong[] state) => throw new NotSupportedException("a sampler without a queue must import its random state");
}

/// <summary>Continuous uniform tasks over the parameter box; no grid, no weights.</summary>
public sealed class UniformTaskSampler : TaskSampler
{
    private readonly SamplerRandom _random;

    /// <summary>Creates the sampler; <paramref name="seed"/> fixes its stream.</summary>
    public UniformTaskSampler(IContinuousTaskFamily family, ulong seed, PriorityQueueOptions? options = null)
        : base(SamplerKind.Uniform, family, options ?? new PriorityQueueOptions()) => _random = new SamplerRandom(seed);

    /// <inheritdoc />
    public override PriorityQueue? Queue => null;

    /// <inheritdoc />
    protected override void Fill(int count, Span<double> values, int[]? cells, double[]? weights)
    {
        var parameters = Family.Parameters;
        var d = parameters.Count;
        for (var t = 0; t < count; t++)
            for (var k = 0; k < d; k++)
                values[t * d + k] = parameters[k].Min + _random.NextDouble() * parameters[k].Width;
    }

    /// <inheritdoc />
    protected override ulong[] ExportRandom() => _random.ExportState();

    /// <inheritdoc />
    protected override void ImportRandom(ulong[] state) => _random.ImportState(state);
}

/// <summary>
/// ε-greedy over queue cells: each task is, with probability ε, a uniformly random cell, otherwise a cell holding the
/// highest stored loss (ties broken uniformly). ε = max(final, start − rate · n), n the tasks drawn in meta-steps after
/// the decay start while ε was above final. With ε = 1 throughout this is uniform over cells plus jitter (seed 000's
/// "vanilla").
/// </summary>
public sealed class EpsilonGreedySampler : TaskSampler
{
    private readonly List<int> _best = [];

    /// <summary>Creates the sampler over a new queue for <paramref name="family"/>; <paramref name="seed"/> fixes its stream.</summary>
    public EpsilonGreedySampler(IContinuousTaskFamily family, PriorityQueueOptions options, ulong seed)
        : base(SamplerKind.EpsilonGreedy, family, options) =>
        Queue = new PriorityQueue(family.Parameters, options.BlocksFor(family), options, seed);

    /// <inheritdoc />
    public override PriorityQueue Queue { get; }

    /// <inheritdoc />
    public override double? Epsilon => CurrentEpsilon;

    private double CurrentEpsilon => Math.Max(Options.EpsilonFinal, Options.EpsilonStart - Options.EpsilonDecayRate * DecayedDraws);

    /// <inheritdoc />
    protected override void Fill(int count, Span<double> values, int[]? cells, double[]? weights)
    {
        var d = Queue.Dimensions;
        var decaying = Draws > Options.EpsilonDecayStart;
        var random = Queue.Random;
        _best.Clear();
        for (var t = 0; t < count; t++)
        {
            var epsilon = CurrentEpsilon;
            int cell;
            if (random.NextDouble() < epsilon)
                cell = random.NextInt(Queue.Cells);
            else
            {
                if (_best.Count == 0) FindBest(); // once per draw: all tasks of a meta-step see the same queue
                cell = _best.Count == 1 ? _best[0] : _best[random.NextInt(_best.Count)];
            }
            Queue.Jitter(cell, values.Slice(t * d, d));
            cells![t] = cell;
            if (decaying && epsilon > Options.EpsilonFinal) DecayedDraws++;
        }
    }

    private void FindBest()
    {
        // Two vectorised passes (a scalar scan with a data-dependent branch measured ~4× slower at 12,348 cells): the
        // maximum by compare-and-select, then every cell equal to it. Stored losses are finite and ≥ 0, so == is exact.
        var losses = Queue.LossArray;
        var vectors = MemoryMarshal.Cast<double, Vector<double>>(losses.AsSpan());
        var width = Vector<double>.Count;
        var tail = vectors.Length * width;
        var max = new Vector<double>(double.NegativeInfinity);
        foreach (var v in vectors) max = Vector.ConditionalSelect(Vector.GreaterThan(v, max), v, max);
        var best = double.NegativeInfinity;
        for (var k = 0; k < width; k++) if (max[k] > best) best = max[k];
        for (var c = tail; c < losses.Length; c++) if (losses[c] > best) best = losses[c];
        var target = new Vector<double>(best);
        for (var j = 0; j < vectors.Length; j++)
            if (Vector.EqualsAny(vectors[j], target))
                for (var c = j * width; c < (j + 1) * width; c++)
                    if (losses[c] == best) _best.Add(c);
        for (var c = tail; c < losses.Length; c++)
            if (losses[c] == best) _best.Add(c);
    }
}

/// <summary>
/// Cells drawn in proportion to a grid: stored losses (weighted, importance-weighted) or their last changes (delta,
/// importance-delta): p_i = v_i / Σ_j v_j. The cumulative sum is built once per draw (O(cells)) and each task is a binary
/// search (O(log cells)). Importance variants weight task t by w_t = (1/N) / p_i (mean 1 under p), optionally divided by
/// the batch mean (self-normalised).
/// </summary>
public sealed class ProportionalSampler : TaskSampler
{
    private readonly double[] _cumulative;

    /// <summary>Creates the sampler over a new queue; <paramref name="options"/>.Kind must be a proportional regime.</summary>
    public ProportionalSampler(IContinuousTaskFamily family, PriorityQueueOptions options, ulong seed)
        : base(Proportional(options), family, options)
    {
        Queue = new PriorityQueue(family.Parameters, options.BlocksFor(family), options, seed);
        _cumulative = new double[Queue.Cells];
        ByChange = Kind is SamplerKind.Delta or SamplerKind.ImportanceDelta;
        Importance = Kind is SamplerKind.ImportanceWeighted or SamplerKind.ImportanceDelta;
    }

    /// <inheritdoc />
    public override PriorityQueue Queue { get; }

    /// <summary>Whether p follows the changes Δ rather than the losses q.</summary>
    public bool ByChange { get; }

    /// <summary>Whether draws carry importance weights.</summary>
    public bool Importance { get; }

    /// <inheritdoc />
    protected override bool Weighted => Importance;

    /// <summary>The current probability of every cell (a new array; O(cells)).</summary>
    public double[] Probabilities()
    {
        var source = ByChange ? Queue.ChangeArray : Queue.LossArray;
        var total = Total(source, null, out _);
        var p = new double[source.Length];
        for (var c = 0; c < p.Length; c++) p[c] = source[c] / total;
        return p;
    }

    /// <inheritdoc />
    protected override void Fill(int count, Span<double> values, int[]? cells, double[]? weights)
    {
        var source = ByChange ? Queue.ChangeArray : Queue.LossArray;
        var total = Total(source, _cumulative, out var lastPositive);
        var d = Queue.Dimensions;
        var random = Queue.Random;
        var n = (double)Queue.Cells;
        for (var t = 0; t < count; t++)
        {
            var cell = UpperBound(_cumulative, random.NextDouble() * total);
            if (cell >= _cumulative.Length) cell = lastPositive; // u·total rounded up to the total
            cells![t] = cell;
            Queue.Jitter(cell, values.Slice(t * d, d));
            if (weights is not null) weights[t] = total / (n * source[cell]); // (1/N) / p_i with p_i = v_i / total > 0
        }
        if (weights is not null && Options.SelfNormalise)
        {
            var mean = weights.Average();
            for (var t = 0; t < weights.Length; t++) weights[t] /= mean;
        }
    }

    private double Total(double[] source, double[]? cumulative, out int lastPositive)
    {
        var total = 0.0;
        lastPositive = -1;
        for (var c = 0; c < source.Length; c++)
        {
            total += source[c];
            if (source[c] > 0) lastPositive = c;
            if (cumulative is not null) cumulative[c] = total;
        }
        if (!(total > 0) || !double.IsFinite(total))
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"--sampler {OptionNames.Kebab(Kind.ToString())}: the queue's {(ByChange ? "changes" : "losses")} sum to {total}, so p = v / Σv is undefined; every cell is 0 or a value is too large"));
        return total;
    }

    /// <summary>The first index whose cumulative value exceeds <paramref name="x"/> (zero-probability cells are never chosen).</summary>
    private static int UpperBound(double[] cumulative, double x)
    {
        int low = 0, high = cumulative.Length;
        while (low < high)
        {
            var mid = (int)((uint)(low + high) >> 1);
            if (cumulative[mid] > x) high = mid;
            else low = mid + 1;
        }
        return low;
    }

    private static SamplerKind Proportional(PriorityQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind is SamplerKind.Weighted or SamplerKind.ImportanceWeighted or SamplerKind.Delta or SamplerKind.ImportanceDelta
            ? options.Kind
            : throw new ArgumentException($"--sampler {OptionNames.Kebab(options.Kind.ToString())} is not a proportional regime (weighted, importance-weighted, delta, importance-delta)", nameof(options));
    }
}

/// <summary>Builds the sampler for a regime.</summary>
public static class TaskSamplers
{
    /// <summary>The sampler for <paramref name="options"/>.Kind over <paramref name="family"/>; <paramref name="seed"/> fixes every draw.</summary>
    public static TaskSampler Create(IContinuousTaskFamily family, PriorityQueueOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            SamplerKind.Uniform => new UniformTaskSampler(family, seed, options),
            SamplerKind.EpsilonGreedy => new EpsilonGreedySampler(family, options, seed),
            _ => new ProportionalSampler(family, options, seed),
        };
    }
}
