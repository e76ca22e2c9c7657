using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// A task-batched MLP with per-step batch normalisation after every hidden linear layer (linear → BN → ReLU), as in
/// MAML++ (Antoniou et al. 2019). Normalisation statistics are computed per task over that task's points — never across
/// the tasks of a meta-batch, which would leak information between tasks. Each of the <see cref="StepSets"/> inner steps
/// has its own BN scale γ and shift β (parameters in the flat layout, meta-learned, not adapted by the inner loop) and its
/// own running mean and variance (buffers held here, not meta-parameters), updated with momentum
/// <see cref="Momentum"/> from the mean over tasks of the per-task statistics whenever a forward pass asks to track.
/// A plain <see cref="Forward(Tensor, Tensor)"/> uses the last step's set, with running statistics when
/// <see cref="UseRunningStatistics"/> is set and otherwise each task's batch statistics (transductive).
/// </summary>
public sealed class BatchNormMlp : IStepwiseNetwork, IDisposable
{
    private readonly int[] _widths;
    private readonly long[] _sizes;
    private readonly HashSet<ParameterSlot> _normalisation = [];
    private readonly int[] _weightSlot;           // per layer: index of its weight slot
    private readonly int[,] _gammaSlot;           // [hidden layer, step]: index of γ (β follows)
    private readonly Tensor?[] _runningMean;      // per hidden layer: [StepSets, C]
    private readonly Tensor?[] _runningVar;

    /// <summary>Creates the network with <paramref name="stepSets"/> per-step BN sets and the given widths (input first).</summary>
    public BatchNormMlp(int stepSets, params int[] widths) : this(stepSets, Activation.Relu, widths)
    {
    }

    /// <summary>A per-step batch-norm MLP with <paramref name="activation"/> after each normalised hidden layer.</summary>
    public BatchNormMlp(int stepSets, Activation activation, params int[] widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        Activation = activation;
        if (stepSets < 1) throw new ArgumentOutOfRangeException(nameof(stepSets), stepSets, "at least one per-step set");
        if (widths.Length < 2) throw new ArgumentException("an MLP needs at least an input and an output width", nameof(widths));
        if (widths.Any(w => w < 1)) throw new ArgumentException("every layer width must be at least 1", nameof(widths));
        _widths = widths;
        StepSets = stepSets;
        var layers = widths.Length - 1;
        var hidden = layers - 1;
        _weightSlot = new int[layers];
        _gammaSlot = new int[hidden, stepSets];
        var slots = new List<ParameterSlot>();
        long offset = 0;
        void Add(string name, long[] shape, int layer)
        {
            var slot = new ParameterSlot(name, shape, offset, layer);
            slots.Add(slot);
            offset += slot.Size;
        }
        for (var l = 0; l < layers; l++)
        {
            _weightSlot[l] = slots.Count;
            Add($"layer{l + 1}.weight", [widths[l], widths[l + 1]], l);
            Add($"layer{l + 1}.bias", [widths[l + 1]], l);
            if (l == layers - 1) break;
            for (var s = 0; s < stepSets; s++)
            {
                _gammaSlot[l, s] = slots.Count;
                Add($"layer{l + 1}.bn{s}.weight", [widths[l + 1]], l);
                Add($"layer{l + 1}.bn{s}.bias", [widths[l + 1]], l);
                _normalisation.Add(slots[^2]);
                _normalisation.Add(slots[^1]);
            }
        }
        Layout = new ParameterLayout(slots);
        _sizes = [.. slots.Select(s => s.Size)];
        _runningMean = new Tensor?[hidden];
        _runningVar = new Tensor?[hidden];
    }

    /// <inheritdoc />
    public ParameterLayout Layout { get; }

    /// <inheritdoc />
    public int Inputs => _widths[0];

    /// <inheritdoc />
    public int Outputs => _widths[^1];

    /// <summary>The layer widths, input first.</summary>
    public IReadOnlyList<int> Widths => _widths;

    /// <inheritdoc />
    public int StepSets { get; }

    /// <summary>The nonlinearity after each normalised hidden layer.</summary>
    public Activation Activation { get; }

    /// <summary>Weight of the newest batch in the running statistics (PyTorch's default 0.1).</summary>
    public double Momentum { get; init; } = 0.1;

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; init; } = 1e-5;

    /// <summary>Whether plain forward passes and test-time adaptation use the running statistics (else batch statistics).</summary>
    public bool UseRunningStatistics { get; set; }

    /// <inheritdoc />
    public NormalizationStatistics InferenceStatistics => UseRunningStatistics ? NormalizationStatistics.Running : NormalizationStatistics.Batch;

    /// <inheritdoc />
    public bool AdaptsInInnerLoop(ParameterSlot slot) => !_normalisation.Contains(slot);

    /// <summary>The running mean [StepSets, C] of hidden layer <paramref name="layer"/> (0-based), or null before any tracking.</summary>
    public Tensor? RunningMean(int layer) => _runningMean[layer];

    /// <summary>The running (unbiased) variance [StepSets, C] of hidden layer <paramref name="layer"/>, or null before any tracking.</summary>
    public Tensor? RunningVariance(int layer) => _runningVar[layer];

    /// <summary>Forgets the running statistics (mean 0, variance 1 from the next use).</summary>
    public void ResetRunningStatistics()
    {
        for (var l = 0; l < _runningMean.Length; l++)
        {
            _runningMean[l]?.Dispose();
            _runningVar[l]?.Dispose();
            _runningMean[l] = _runningVar[l] = null;
        }
    }

    /// <inheritdoc />
    public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var mlp = new Mlp(_widths);
        var linear = mlp.Initialize(scheme, generator, dtype).split([.. mlp.Layout.Slots.Select(s => s.Size)]);
        var pieces = new List<Tensor>(Layout.Slots.Count);
        var next = 0;
        foreach (var slot in Layout.Slots)
        {
            if (!_normalisation.Contains(slot)) pieces.Add(linear[next++]);
            else pieces.Add(slot.Name.EndsWith(".weight", StringComparison.Ordinal) ? ones(slot.Shape, dtype) : zeros(slot.Shape, dtype));
        }
        return cat(pieces, 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor weights, Tensor input) => Forward(weights, input, StepSets - 1, InferenceStatistics);

    /// <inheritdoc />
    public Tensor Forward(Tensor weights, Tensor input, int step, NormalizationStatistics statistics)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "the step must be ≥ 0");
        step = Math.Min(step, StepSets - 1);
        var tasks = weights.Dims()[0];
        var parts = weights.split(_sizes, 1);
        var slots = Layout.Slots;
        var h = input.dim() > 3 ? input.flatten(2) : input;
        var layers = _widths.Length - 1;
        for (var l = 0; l < layers; l++)
        {
            var (w, b) = (_weightSlot[l], _weightSlot[l] + 1);
            h = BatchedOps.AddBatchMatMul(parts[b].view(tasks, 1, slots[b].Shape[0]), h, parts[w].view(tasks, slots[w].Shape[0], slots[w].Shape[1]));
            if (l == layers - 1) break;
            var gamma = parts[_gammaSlot[l, step]].view(tasks, 1, -1);
            var beta = parts[_gammaSlot[l, step] + 1].view(tasks, 1, -1);
            h = Activations.Apply(Activation, Normalise(h, l, step, statistics) * gamma + beta);
        }
        return h;
    }

    private Tensor Normalise(Tensor h, int layer, int step, NormalizationStatistics statistics)
    {
        if (statistics == NormalizationStatistics.Running)
        {
            var (mean, variance) = Buffers(layer, h.dtype);
            return (h - mean[step]) / (variance[step] + Epsilon).sqrt();
        }
        var batchMean = h.mean([1], keepdim: true);                                   // [T, 1, C]: per task
        var centred = h - batchMean;
        var batchVar = centred.square().mean([1], keepdim: true);                     // biased, as in training-mode BN
        if (statistics == NormalizationStatistics.BatchAndTrack)
        {
            using var noGrad = no_grad();
            var (mean, variance) = Buffers(layer, h.dtype);
            var n = h.Dims()[1];
            var unbiased = n > 1 ? batchVar.detach() * ((double)n / (n - 1)) : batchVar.detach();
            mean[step].mul_(1 - Momentum).add_(batchMean.detach().mean([0, 1]), alpha: Momentum);
            variance[step].mul_(1 - Momentum).add_(unbiased.mean([0, 1]), alpha: Momentum);
        }
        return centred / (batchVar + Epsilon).sqrt();
    }

    private (Tensor Mean, Tensor Variance) Buffers(int layer, ScalarType dtype)
    {
        var channels = _widths[layer + 1];
        if (_runningMean[layer] is not { } mean || mean.dtype != dtype)
        {
            var (oldMean, oldVar) = (_runningMean[layer], _runningVar[layer]);
            _runningMean[layer] = (oldMean?.to_type(dtype) ?? zeros([StepSets, channels], dtype)).DetachFromDisposeScope();
            _runningVar[layer] = (oldVar?.to_type(dtype) ?? ones([StepSets, channels], dtype)).DetachFromDisposeScope();
            oldMean?.Dispose();
            oldVar?.Dispose();
        }
        return (_runningMean[layer]!, _runningVar[layer]!);
    }

    /// <inheritdoc />
    public void Dispose() => ResetRunningStatistics();
}
