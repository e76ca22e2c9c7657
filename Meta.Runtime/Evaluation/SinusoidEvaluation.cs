using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>Names of the compared initialisations.</summary>
public static class Models
{
    /// <summary>The meta-learned initialisation.</summary>
    public const string MetaLearned = "meta-learned";
    /// <summary>A random initialisation (seed 002's "train from scratch").</summary>
    public const string Scratch = "from scratch";
    /// <summary>A network pre-trained on all tasks jointly (Finn et al.'s "pretrained" baseline).</summary>
    public const string Pretrained = "pre-trained";
}

/// <summary>
/// A fixed set of sinusoid test tasks drawn once from their own seed. Each model is adapted from its initialisation with
/// K support points by plain SGD at rate α, and scored by the MSE on evenly spaced points across the input range.
/// </summary>
public sealed class SinusoidEvaluation : IDisposable
{
    private readonly SinusoidFamily _family;
    private readonly SinusoidTasks _tasks;
    private readonly Dictionary<int, (Tensor X, Tensor Y)> _support = [];
    private readonly Tensor _testX;
    private readonly Tensor _testY;
    private readonly int[] _steps;

    /// <summary>Draws <paramref name="tasks"/> test tasks and their support sets (nested: K = 5 uses the first 5 of 20).</summary>
    public SinusoidEvaluation(SinusoidFamily family, int tasks, IReadOnlyList<int> shots, IReadOnlyList<int> steps, int points, Generator generator)
    {
        if (tasks < 2) throw new ArgumentOutOfRangeException(nameof(tasks), tasks, "at least 2 test tasks are needed for a confidence interval");
        if (shots.Count == 0 || shots.Any(k => k < 1)) throw new ArgumentException("every K must be at least 1", nameof(shots));
        if (steps.Count == 0 || steps.Any(s => s < 0)) throw new ArgumentException("every step count must be ≥ 0", nameof(steps));
        _family = family;
        _steps = [.. steps.Distinct().Order()];
        Shots = [.. shots.Distinct().Order()];
        Points = points;
        _tasks = family.Sample(tasks, generator);
        _tasks.Amplitude.DetachFromDisposeScope();
        _tasks.Phase.DetachFromDisposeScope();
        var x = family.Inputs(tasks, Shots[^1], generator);
        foreach (var k in Shots)
        {
            var xs = x.narrow(1, 0, k).contiguous().DetachFromDisposeScope();
            _support[k] = (xs, family.Target(_tasks, xs).DetachFromDisposeScope());
        }
        x.Dispose();
        _testX = linspace(family.Ranges.InputMin, family.Ranges.InputMax, points, dtype: family.DType)
            .view(1, points, 1).expand(tasks, points, 1).contiguous().DetachFromDisposeScope();
        _testY = family.Target(_tasks, _testX).DetachFromDisposeScope();
    }

    /// <summary>The support sizes evaluated.</summary>
    public IReadOnlyList<int> Shots { get; }

    /// <summary>The number of evenly spaced test points per task.</summary>
    public int Points { get; }

    /// <summary>Number of test tasks.</summary>
    public long Tasks => _tasks.Count;

    /// <summary>The protocol as one sentence.</summary>
    public string Protocol =>
        $"{Tasks} fixed test tasks; adapt by SGD at α from each initialisation with K ∈ {{{string.Join(", ", Shots)}}} support points; " +
        $"MSE on {Points} evenly spaced points in [{_family.Ranges.InputMin:0.##}, {_family.Ranges.InputMax:0.##}]; " + EvaluationReport.CellLegend;

    /// <summary>
    /// Adapts <paramref name="metaParameters"/> with <paramref name="algorithm"/>'s own test-time rule for each K and scores
    /// the fast weights after each requested number of steps. Each K's loss before adaptation (0 steps) is computed once and
    /// is the reference of <see cref="Divergence.IsDiverged"/> for that K's cells.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired (checked before each cell).</exception>
    public IReadOnlyList<EvaluationRow> Evaluate(string model, IMetaAlgorithm algorithm, Tensor metaParameters, CancellationToken cancel = default,
        Meta.Hosting.PhaseProgress? progress = null)
    {
        var rows = new List<EvaluationRow>();
        var spread = Divergence.ConstantPredictionLoss(algorithm.Loss, _testY);
        foreach (var k in Shots)
        {
            var (xs, ys) = _support[k];
            double[]? before = null;
            foreach (var steps in _steps.Prepend(0).Distinct())
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var fast = algorithm.Adapt(metaParameters, xs, ys, steps);
                using var noGrad = no_grad();
                var losses = algorithm.Loss.PerTask(algorithm.Network.Forward(fast, _testX), _testY).to_type(ScalarType.Float64).data<double>().ToArray();
                before ??= Divergence.Reference(losses, spread);   // the first pass is the 0-step one
                if (!_steps.Contains(steps)) continue;
                rows.Add(EvaluationRow.Of(model, k, steps, losses, before));
                progress?.Advance();
            }
        }
        return rows;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _tasks.Amplitude.Dispose();
        _tasks.Phase.Dispose();
        foreach (var (x, y) in _support.Values)
        {
            x.Dispose();
            y.Dispose();
        }
        _testX.Dispose();
        _testY.Dispose();
    }
}
