using System.Globalization;
using Meta.Tasks;

namespace Meta.Sampling;

/// <summary>A priority queue's complete state as plain arrays (cells in row-major order), for checkpoints.</summary>
/// <param name="Shape">Cells per task parameter.</param>
/// <param name="Losses">Latest loss per cell.</param>
/// <param name="Changes">|previous − new| at each cell's last insert.</param>
/// <param name="Counts">Losses received per cell.</param>
/// <param name="Random">The queue's random state (<see cref="SamplerRandom.ExportState"/>).</param>
public sealed record PriorityQueueState(int[] Shape, double[] Losses, double[] Changes, long[] Counts, ulong[] Random);

/// <summary>
/// Seed 000's "priority queue": not a heap but a dense grid over the box of task parameters, with per cell the latest
/// query loss q, the change Δ = |q_old − q_new| at the last insert, and the number of losses received. Cells are numbered
/// row-major (the last parameter varies fastest). A cell maps to continuous task parameters by uniform jitter inside it.
/// Plain .NET arrays and a <see cref="SamplerRandom"/> the queue owns: draws are deterministic for a seed, and
/// <see cref="ExportState"/> / <see cref="ImportState"/> restore the queue exactly.
/// </summary>
public sealed class PriorityQueue
{
    private readonly int[] _shape;
    private readonly int[] _strides;
    private readonly double[] _low;
    private readonly double[] _width;
    private readonly double[] _losses;
    private readonly double[] _changes;
    private readonly long[] _counts;

    /// <summary>
    /// Builds the grid over <paramref name="parameters"/> with one block size per parameter. Cells per parameter are
    /// ⌊range / block⌋; unless <see cref="PriorityQueueOptions.TruncateCells"/> is set they are stretched to cover the range
    /// exactly (width range / cells). Initial losses and changes are |N(0, σ²)| draws (σ = initial-loss, initial-change) or
    /// those constants. Throws <see cref="ArgumentException"/> naming the option for bad input.
    /// </summary>
    public PriorityQueue(IReadOnlyList<TaskParameter> parameters, IReadOnlyList<double> blockSizes, PriorityQueueOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(blockSizes);
        ArgumentNullException.ThrowIfNull(options);
        if (parameters.Count == 0) throw new ArgumentException("a priority queue needs at least one task parameter", nameof(parameters));
        options = options with { BlockSizes = blockSizes };
        options.Validate(parameters);
        Parameters = parameters;
        Options = options;
        var d = parameters.Count;
        _shape = new int[d];
        _strides = new int[d];
        _low = new double[d];
        _width = new double[d];
        for (var i = 0; i < d; i++)
        {
            _shape[i] = PriorityQueueOptions.CellCount(parameters[i], blockSizes[i]);
            _low[i] = parameters[i].Min;
            _width[i] = options.TruncateCells ? blockSizes[i] : parameters[i].Width / _shape[i];
        }
        var cells = 1;
        for (var i = d - 1; i >= 0; i--)
        {
            _strides[i] = cells;
            cells *= _shape[i];
        }
        Cells = cells;
        _losses = new double[cells];
        _changes = new double[cells];
        _counts = new long[cells];
        Random = new SamplerRandom(seed);
        for (var c = 0; c < cells; c++) _losses[c] = options.InitialConstant ? options.InitialLoss : Random.NextHalfNormal(options.InitialLoss);
        for (var c = 0; c < cells; c++) _changes[c] = options.InitialConstant ? options.InitialChange : Random.NextHalfNormal(options.InitialChange);
    }

    /// <summary>The task parameters the grid spans.</summary>
    public IReadOnlyList<TaskParameter> Parameters { get; }

    /// <summary>The options, with the block sizes in use.</summary>
    public PriorityQueueOptions Options { get; }

    /// <summary>Number of task parameters D.</summary>
    public int Dimensions => _shape.Length;

    /// <summary>Cells per parameter.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Total number of cells N.</summary>
    public int Cells { get; }

    /// <summary>Width of a cell along each parameter (the block size, or range / cells when stretched).</summary>
    public IReadOnlyList<double> CellWidths => _width;

    /// <summary>The queue's random stream (cell draws and jitter).</summary>
    public SamplerRandom Random { get; }

    /// <summary>Latest loss per cell, row-major.</summary>
    public ReadOnlySpan<double> Losses => _losses;

    /// <summary>Change |q_old − q_new| at each cell's last insert.</summary>
    public ReadOnlySpan<double> Changes => _changes;

    /// <summary>Losses received per cell.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Total losses received.</summary>
    public long Inserts { get; private set; }

    internal double[] LossArray => _losses;

    internal double[] ChangeArray => _changes;

    /// <summary>Stores <paramref name="loss"/> (finite, ≥ 0) in <paramref name="cell"/>: Δ ← |q − loss|, q ← loss, count + 1.</summary>
    public void Insert(int cell, double loss)
    {
        CheckCell(cell);
        if (!double.IsFinite(loss) || loss < 0)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"priority queue: a task loss must be finite and ≥ 0, got {loss} for cell {cell}"), nameof(loss));
        _changes[cell] = Math.Abs(_losses[cell] - loss);
        _losses[cell] = loss;
        _counts[cell]++;
        Inserts++;
    }

    /// <summary>The flat (row-major) index of the cell at <paramref name="coordinates"/>.</summary>
    public int Cell(ReadOnlySpan<int> coordinates)
    {
        if (coordinates.Length != _shape.Length) throw new ArgumentException($"expected {_shape.Length} coordinates, got {coordinates.Length}", nameof(coordinates));
        var cell = 0;
        for (var d = 0; d < _shape.Length; d++)
        {
            if ((uint)coordinates[d] >= (uint)_shape[d]) throw new ArgumentOutOfRangeException(nameof(coordinates), $"coordinate {d} is {coordinates[d]}; the grid has {_shape[d]} cells there");
            cell += coordinates[d] * _strides[d];
        }
        return cell;
    }

    /// <summary>The coordinate of <paramref name="cell"/> along parameter <paramref name="dimension"/>.</summary>
    public int Coordinate(int cell, int dimension)
    {
        CheckCell(cell);
        return cell / _strides[dimension] % _shape[dimension];
    }

    /// <summary>Lower edge of <paramref name="cell"/> along <paramref name="dimension"/>.</summary>
    public double CellLow(int cell, int dimension) => _low[dimension] + Coordinate(cell, dimension) * _width[dimension];

    /// <summary>Upper edge of <paramref name="cell"/> along <paramref name="dimension"/>.</summary>
    public double CellHigh(int cell, int dimension) => _low[dimension] + (Coordinate(cell, dimension) + 1) * _width[dimension];

    /// <summary>Task parameters uniform inside <paramref name="cell"/>: p_d = low_d + (i_d + U[0, 1))·width_d, written to <paramref name="values"/> [D].</summary>
    public void Jitter(int cell, Span<double> values)
    {
        CheckCell(cell);
        if (values.Length != _shape.Length) throw new ArgumentException($"expected room for {_shape.Length} values, got {values.Length}", nameof(values));
        for (var d = 0; d < _shape.Length; d++)
        {
            var i = cell / _strides[d] % _shape[d];
            values[d] = _low[d] + (i + Random.NextDouble()) * _width[d];
        }
    }

    /// <summary>A copy of the complete state.</summary>
    public PriorityQueueState ExportState() =>
        new((int[])_shape.Clone(), (double[])_losses.Clone(), (double[])_changes.Clone(), (long[])_counts.Clone(), Random.ExportState());

    /// <summary>
    /// Restores a state from <see cref="ExportState"/> (copied in). All three grids and the random state are required
    /// (seed 000 restored the losses and counts but not the changes, and crashed); the shape must match this grid.
    /// Throws <see cref="ArgumentException"/> and leaves the queue unchanged if anything does not fit.
    /// </summary>
    public void ImportState(PriorityQueueState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Shape is null || !state.Shape.AsSpan().SequenceEqual(_shape))
            throw new ArgumentException($"priority-queue state: shape [{string.Join(", ", state.Shape ?? [])}] does not match the grid [{string.Join(", ", _shape)}]", nameof(state));
        CheckGrid(state.Losses, "losses");
        CheckGrid(state.Changes, "changes");
        if (state.Counts is null || state.Counts.Length != Cells)
            throw new ArgumentException($"priority-queue state: counts must hold {Cells} values, got {state.Counts?.Length ?? 0}", nameof(state));
        if (state.Counts.Any(c => c < 0)) throw new ArgumentException("priority-queue state: counts must be ≥ 0", nameof(state));
        if (state.Random is null) throw new ArgumentException("priority-queue state: the random state is missing", nameof(state));
        Random.ImportState(state.Random);
        state.Losses.CopyTo(_losses, 0);
        state.Changes.CopyTo(_changes, 0);
        state.Counts.CopyTo(_counts, 0);
        Inserts = state.Counts.Sum();
    }

    private void CheckGrid(double[]? values, string name)
    {
        if (values is null || values.Length != Cells)
            throw new ArgumentException($"priority-queue state: {name} must hold {Cells} values, got {values?.Length ?? 0}", "state");
        foreach (var v in values)
            if (!double.IsFinite(v) || v < 0)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"priority-queue state: {name} must be finite and ≥ 0, found {v}"), "state");
    }

    private void CheckCell(int cell)
    {
        if ((uint)cell >= (uint)Cells) throw new ArgumentOutOfRangeException(nameof(cell), cell, $"the grid has {Cells} cells");
    }
}
