using System.Globalization;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks.Images;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tasks.Data;

/// <summary>
/// Few-shot regression over a CSV file of your own — no code: <c>[Tasks&lt;CsvRegressionTasks&gt;]</c>. The file has a
/// header row and a task column; each task's rows are its points. A task of a meta-batch is a training task drawn
/// uniformly (with replacement across the batch) and <see cref="Shots"/> + <see cref="QueryShots"/> of its rows drawn
/// without replacement: the first K are the support set, the rest the query set. A <see cref="TestFraction"/> of the
/// tasks, chosen by a stable hash of their names, is held out; the final evaluation adapts to each held-out task from K of
/// its rows (drawn once, from the evaluation seed) and scores the MSE on all its other rows, for the meta-learned
/// initialisation and for a random one ("from scratch") adapted by SGD at the inner rate α.
/// </summary>
[DefaultNetwork<MlpNetwork>]
[System.ComponentModel.DisplayName("CSV few-shot regression")]
public sealed class CsvRegressionTasks : ITaskFamily, IValidatedComponent, IDisposable
{
    private CsvTaskTable? _table;
    private TaskRows? _train;
    private TaskRows? _test;

    /// <summary>The CSV file.</summary>
    [Option("CSV file: a header row, a task column, one row per point.", NotEmpty = true)]
    public string Data { get; set; } = "data/regression.csv";

    /// <summary>The column naming each row's task.</summary>
    [Option("Column that names each row's task.", NotEmpty = true)]
    public string TaskColumn { get; set; } = "task";

    /// <summary>Input columns, comma-separated; empty: the x-columns (x, x1, x_…), else every column but the task and targets.</summary>
    [Option("Input columns, comma-separated (empty: x, x1, x_… columns, else all but the task and target columns).")]
    public string Inputs { get; set; } = "";

    /// <summary>Target columns, comma-separated; empty: the y-columns (y, y1, y_…), else the last column.</summary>
    [Option("Target columns, comma-separated (empty: y, y1, y_… columns, else the last column).")]
    public string Targets { get; set; } = "";

    /// <summary>Support rows K per task.</summary>
    [Option("Support rows K per task.", Minimum = 1)]
    public int Shots { get; set; } = 5;

    /// <summary>Query rows per task during meta-training.</summary>
    [Option("Query rows per task during meta-training.", Minimum = 1)]
    public int QueryShots { get; set; } = 5;

    /// <summary>The fraction of the tasks held out for the final evaluation.</summary>
    [Option("Fraction of the tasks held out for the final evaluation, in (0, 1).", Positive = true)]
    public double TestFraction { get; set; } = 0.2;

    /// <summary>Inner steps when adapting to a held-out task, besides 1, 5 and 10 (0: the training inner steps).</summary>
    [Option("Inner steps when adapting to a held-out task, reported besides 1, 5 and 10 (0: the training inner steps).", Minimum = 0)]
    public int EvalSteps { get; set; }

    /// <summary>The data read by <see cref="Prepare"/>.</summary>
    public CsvTaskTable Table => _table ?? throw new InvalidOperationException("Prepare the family first");

    /// <summary>The meta-training task names (after <see cref="Prepare"/>).</summary>
    public IReadOnlyList<string> TrainTasks => (_train ?? throw new InvalidOperationException("Prepare the family first")).Names;

    /// <summary>The held-out task names (after <see cref="Prepare"/>).</summary>
    public IReadOnlyList<string> TestTasks => (_test ?? throw new InvalidOperationException("Prepare the family first")).Names;

    /// <inheritdoc />
    public TaskShape Shape => new([Table.InputColumns.Count], Table.TargetColumns.Count, Classification: false);

    /// <inheritdoc />
    public ITaskLoss Loss => TaskLoss.MeanSquaredErrorLoss;

    /// <inheritdoc />
    public void Validate()
    {
        if (!(TestFraction < 1)) throw OptionException.Rejected("--test-fraction", TestFraction.ToString("R", CultureInfo.InvariantCulture), "a fraction above 0 and below 1");
    }

    /// <inheritdoc />
    public void Prepare(FamilyContext context)
    {
        Validate();
        DisposeData();
        var table = CsvTaskTable.Load(Data, TaskColumn, Inputs, Targets);
        var needed = Shots + QueryShots;
        for (var t = 0; t < table.Tasks.Count; t++)
        {
            if (table.Counts[t] < needed)
                throw new DatasetException(
                    $"'{table.Path}': task '{table.Tasks[t]}' has {table.Counts[t]} row{(table.Counts[t] == 1 ? "" : "s")}; --shots {Shots} with --query-shots {QueryShots} need at least {needed} per task; add rows or lower --shots / --query-shots");
        }
        if (table.Tasks.Count < 2)
            throw new DatasetException($"'{table.Path}' has 1 task ('{table.Tasks[0]}'); meta-training and a held-out test need at least 2 tasks in column '{TaskColumn}' (--task-column)");
        var held = DataFiles.HeldOut(table.Tasks, TestFraction);
        _table = table;
        _train = new TaskRows(table, [.. Enumerable.Range(0, held.Length).Where(i => !held[i])]);
        _test = new TaskRows(table, [.. Enumerable.Range(0, held.Length).Where(i => held[i])]);
    }

    /// <inheritdoc />
    public Episode Draw(int tasks, Generator generator)
    {
        if (tasks < 1) throw new ArgumentOutOfRangeException(nameof(tasks), tasks, "draw at least one task");
        var train = _train ?? throw new InvalidOperationException("Prepare the family first");
        using var scope = NewDisposeScope();
        var chosen = rand([tasks], ScalarType.Float64, generator: generator).mul_(train.Count).floor_().to_type(ScalarType.Int64).clamp_(0, train.Count - 1);
        var (x, y) = train.Sample(chosen, Shots + QueryShots, generator);
        var episode = new Episode(
            x.narrow(1, 0, Shots).contiguous(), y.narrow(1, 0, Shots).contiguous(),
            x.narrow(1, Shots, QueryShots).contiguous(), y.narrow(1, Shots, QueryShots).contiguous());
        episode.SupportX.MoveToOuterDisposeScope();
        episode.SupportY.MoveToOuterDisposeScope();
        episode.QueryX.MoveToOuterDisposeScope();
        episode.QueryY.MoveToOuterDisposeScope();
        return episode;
    }

    /// <inheritdoc />
    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = EvalSteps > 0 ? EvalSteps : context.Definition.InnerSteps;
        context.Run.Phase($"evaluating on {TestTasks.Count} held-out tasks");
        using var baselineStream = context.Seeds.NewBaselines();
        using var scratch = context.Algorithm.Network.Initialize(context.Init, baselineStream, context.MetaParameters.dtype);
        var sgd = new Maml(context.Algorithm.Network, context.Algorithm.Loss, 1, context.Definition.InnerLr, firstOrder: true);
        var report = Score(context.Algorithm, context.MetaParameters, sgd, scratch, steps, RunSeeds.Derive(context.Seeds.Seed, 3), context.Cancel);
        if (report.Find(Models.MetaLearned, Shots, steps) is { } learned) context.Run.Result("mse", learned.Mean);
        if (report.Find(Models.Scratch, Shots, steps) is { } fromScratch) context.Run.Result("mse.scratch", fromScratch.Mean);
        return report;
    }

    /// <summary>
    /// The evaluation table: for each held-out task, K support rows drawn once from <paramref name="seed"/>; the
    /// meta-learned initialisation adapted by <paramref name="algorithm"/>'s rule and the from-scratch one by
    /// <paramref name="baseline"/>, each after 1, 5, 10 and <paramref name="steps"/> steps; MSE on the task's other rows.
    /// </summary>
    public EvaluationReport Score(IMetaAlgorithm algorithm, Tensor metaParameters, IMetaAlgorithm baseline, Tensor scratch, int steps, ulong seed,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(baseline);
        var test = _test ?? throw new InvalidOperationException("Prepare the family first");
        int[] stepCounts = [.. ExperimentDefaults.EvalSteps.Append(steps).Distinct().Order()];
        var splits = test.EvaluationSplits(Shots, seed, metaParameters.dtype);
        try
        {
            var rows = new List<EvaluationRow>();
            foreach (var (model, adapter, start) in new[] { (Models.MetaLearned, algorithm, metaParameters), (Models.Scratch, baseline, scratch) })
            {
                double[]? before = null;
                foreach (var s in stepCounts.Prepend(0))
                {
                    var losses = new double[splits.Count];
                    for (var t = 0; t < splits.Count; t++)
                    {
                        cancel.ThrowIfCancellationRequested();
                        using var scope = NewDisposeScope();
                        var (sx, sy, qx, qy) = splits[t];
                        var fast = adapter.Adapt(start, sx, sy, s);
                        using var noGrad = no_grad();
                        losses[t] = adapter.Loss.PerTask(adapter.Network.Forward(fast, qx), qy).to_type(ScalarType.Float64).item<double>();
                        if (s == 0) losses[t] = Math.Max(losses[t], Evaluation.Divergence.ConstantPredictionLoss(adapter.Loss, qy)[0]);
                    }
                    before ??= losses;   // the first pass is before adaptation, the reference for divergence
                    if (s > 0) rows.Add(EvaluationRow.Of(model, Shots, s, losses, before));
                }
            }
            var protocol = string.Create(CultureInfo.InvariantCulture,
                $"{splits.Count} held-out tasks of {Table.Tasks.Count} (--test-fraction {TestFraction}); adapt from each initialisation with K = {Shots} support rows per task (drawn once), meta-learned by the algorithm's rule, from scratch by SGD at α; MSE on each task's other rows; ") + EvaluationReport.CellLegend;
            return new EvaluationReport(protocol, rows);
        }
        finally
        {
            foreach (var (sx, sy, qx, qy) in splits)
            {
                sx.Dispose();
                sy.Dispose();
                qx.Dispose();
                qy.Dispose();
            }
        }
    }

    private void DisposeData()
    {
        _train?.Dispose();
        _test?.Dispose();
        _train = _test = null;
        _table = null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DisposeData();
        GC.SuppressFinalize(this);
    }

    /// <summary>Some tasks of a table as tensors: all their rows, task after task, with offsets and counts.</summary>
    private sealed class TaskRows : IDisposable
    {
        private readonly Tensor _x;
        private readonly Tensor _y;
        private readonly Tensor _offsets;
        private readonly Tensor _counts;
        private readonly int[] _offsetArray;
        private readonly int[] _countArray;
        private readonly int _maxCount;

        public TaskRows(CsvTaskTable table, int[] tasks)
        {
            Names = [.. tasks.Select(t => table.Tasks[t])];
            var (inputs, targets) = (table.InputColumns.Count, table.TargetColumns.Count);
            var rows = tasks.Sum(t => table.Counts[t]);
            var x = new float[rows * inputs];
            var y = new float[rows * targets];
            _offsetArray = new int[tasks.Length];
            _countArray = new int[tasks.Length];
            var row = 0;
            for (var i = 0; i < tasks.Length; i++)
            {
                var (offset, count) = (table.Offsets[tasks[i]], table.Counts[tasks[i]]);
                Array.Copy(table.Inputs, offset * inputs, x, row * inputs, count * inputs);
                Array.Copy(table.Targets, offset * targets, y, row * targets, count * targets);
                _offsetArray[i] = row;
                _countArray[i] = count;
                row += count;
            }
            _maxCount = _countArray.Max();
            _x = tensor(x, [rows, inputs]).DetachFromDisposeScope();
            _y = tensor(y, [rows, targets]).DetachFromDisposeScope();
            _offsets = tensor(_offsetArray.Select(o => (long)o).ToArray(), ScalarType.Int64).DetachFromDisposeScope();
            _counts = tensor(_countArray.Select(c => (long)c).ToArray(), ScalarType.Int64).DetachFromDisposeScope();
        }

        public string[] Names { get; }

        public int Count => Names.Length;

        /// <summary><paramref name="perTask"/> distinct rows of each task in <paramref name="tasks"/> [T]: inputs [T, n, F], targets [T, n, O].</summary>
        public (Tensor X, Tensor Y) Sample(Tensor tasks, int perTask, Generator generator)
        {
            using var scope = NewDisposeScope();
            var t = tasks.Dims()[0];
            // Random keys per (task slot, row); rows beyond a task's count get −1 and are never among the top perTask.
            var keys = rand([t, _maxCount], ScalarType.Float64, generator: generator);
            var beyond = arange(_maxCount, ScalarType.Int64).unsqueeze(0) >= _counts.index_select(0, tasks).unsqueeze(1);
            var local = keys.masked_fill_(beyond, -1.0).topk(perTask, dim: 1).indexes;
            var global = (_offsets.index_select(0, tasks).unsqueeze(1) + local).flatten();
            var x = _x.index_select(0, global).view(t, perTask, _x.Dims()[1]);
            var y = _y.index_select(0, global).view(t, perTask, _y.Dims()[1]);
            return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
        }

        /// <summary>Per task: K support rows drawn from <paramref name="seed"/>, and all the others as the query, each [1, n, …].</summary>
        public List<(Tensor SX, Tensor SY, Tensor QX, Tensor QY)> EvaluationSplits(int shots, ulong seed, ScalarType dtype)
        {
            using var generator = new Generator(seed);
            var splits = new List<(Tensor, Tensor, Tensor, Tensor)>();
            for (var i = 0; i < Count; i++)
            {
                using var scope = NewDisposeScope();
                var order = randperm(_countArray[i], generator: generator).add_(_offsetArray[i]);
                var support = order.narrow(0, 0, shots);
                var query = order.narrow(0, shots, _countArray[i] - shots);
                Tensor Pick(Tensor source, Tensor rows) => source.index_select(0, rows).unsqueeze(0).to_type(dtype).DetachFromDisposeScope();
                splits.Add((Pick(_x, support), Pick(_y, support), Pick(_x, query), Pick(_y, query)));
            }
            return splits;
        }

        public void Dispose()
        {
            _x.Dispose();
            _y.Dispose();
            _offsets.Dispose();
            _counts.Dispose();
        }
    }
}
