using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// The conv-4 image classifier of few-shot learning (Vinyals et al. 2016; Finn et al. 2017), task-batched: B blocks of
/// [3 × 3 convolution (padding 1), batch norm, ReLU, 2 × 2 max-pool], then a linear head to the N ways.
/// </summary>
/// <remarks>
/// <para>
/// <b>Task batching.</b> The T tasks' images [T, N, C, H, W] become the channels of one image batch [N, T·C, H, W], and
/// each task's kernels are one group of a grouped convolution (weights [T·F, C, 3, 3], groups = T): one kernel call per
/// layer for the whole meta-batch. Batch norm on [N, T·F, h, w] normalises each of the T·F channels over N·h·w values,
/// which is exactly each task's own per-channel batch statistics; the head is one fused <c>baddbmm</c>.
/// </para>
/// <para>
/// <b>Batch-norm semantics.</b> Always batch statistics, never running averages (as in MAML's reference code): during
/// the inner loop the statistics are those of the task's support images, on the query set those of the task's query
/// images — at test time too, which makes evaluation transductive over each task's query set. The scale γ and shift β
/// are ordinary (adapted) parameters. Without batch norm each convolution has a bias; with it the bias is omitted,
/// because the mean subtraction cancels it exactly (its gradient would be zero).
/// </para>
/// <para>
/// <b>Per-step batch norm</b> (MAML++, Antoniou et al. 2019), off by default: with <c>perStepBatchNorm</c> = S ≥ 1 every
/// block has S sets of γ and β (slots <c>norm{b}.step{s}.weight/bias</c> right after the block's kernel, instead of
/// <c>norm{b}.weight/bias</c>), meta-learned and not adapted by the inner loop (<see cref="AdaptsInInnerLoop"/>), and
/// S running means and variances (buffers held here, not parameters). <see cref="Forward(Tensor, Tensor, int, NormalizationStatistics)"/> with step s
/// uses set s (the last set beyond S) and <see cref="NormalizationStatistics.Batch"/> (each task's own statistics),
/// <see cref="NormalizationStatistics.BatchAndTrack"/> (and fold the mean over tasks of the per-task statistics into set
/// s's running statistics with momentum <see cref="BatchNormMomentum"/>) or <see cref="NormalizationStatistics.Running"/>
/// (set s's running statistics), exactly as <see cref="BatchNormMlp"/> does for the MLP. A plain
/// <see cref="Forward(Tensor, Tensor)"/> uses the last set with <see cref="InferenceStatistics"/>. With S = 0
/// (the default) the layout and the forward pass are the shared-γ/β network above, <see cref="StepSets"/> is 0 and the
/// step and statistics arguments are ignored (running statistics are refused): algorithms treat it as a plain network.
/// </para>
/// <para>ReLU and max-pool commute (both monotone), so the block pools before the ReLU: the same function, ¼ of the ReLU work.</para>
/// <para>
/// <b>Body and head</b> (<see cref="IHeadNetwork"/>, for ANIL): the body is the conv blocks, the head the final linear
/// layer. The layout already keeps the body first and the head's two slots last, so <see cref="HeadOffset"/> is the
/// offset of <c>head.weight</c> and <c>Forward(w, x) = Head(w[:, HeadOffset:], Features(w[:, :HeadOffset], x))</c>.
/// </para>
/// </remarks>
public sealed class ConvNet : IFunctionalNetwork, IHeadNetwork, IStepwiseNetwork, IDisposable
{
    private readonly long[] _sizes;
    private readonly int _blocks;
    private readonly int[] _kernelSlot;                  // per block: index of its kernel (its bias follows without batch norm)
    private readonly int[,] _gammaSlot;                  // [block, set]: index of γ (β follows); one set without per-step BN
    private readonly HashSet<ParameterSlot> _perStep = [];
    private readonly Tensor?[] _runningMean;             // per block: [StepSets, F]
    private readonly Tensor?[] _runningVar;
    private bool _useRunningStatistics;

    /// <summary>
    /// Creates a conv net for <paramref name="ways"/> classes on images of <paramref name="channels"/> ×
    /// <paramref name="height"/> × <paramref name="width"/>. <paramref name="perStepBatchNorm"/> ≥ 1 gives every block
    /// that many per-step batch-norm sets (MAML++; needs <paramref name="batchNorm"/>); 0 keeps one shared, adapted set.
    /// </summary>
    public ConvNet(int ways, int channels = 1, int height = 28, int width = 28, int filters = 64, int blocks = 4,
        bool batchNorm = true, double batchNormEpsilon = 1e-5, int perStepBatchNorm = 0)
    {
        if (ways < 1) throw new ArgumentOutOfRangeException(nameof(ways), ways, "at least one way");
        if (channels < 1 || filters < 1 || blocks < 1) throw new ArgumentException("channels, filters and blocks must be at least 1");
        if (height != width) throw new ArgumentException($"images must be square, got {height} × {width}");
        if (height >> blocks < 1) throw new ArgumentException($"{blocks} 2 × 2 max-pools need images of at least {1 << blocks} pixels, got {height}");
        if (!(batchNormEpsilon > 0)) throw new ArgumentOutOfRangeException(nameof(batchNormEpsilon), batchNormEpsilon, "must be > 0");
        if (perStepBatchNorm < 0) throw new ArgumentOutOfRangeException(nameof(perStepBatchNorm), perStepBatchNorm, "the number of per-step batch-norm sets must be ≥ 0 (0 = off)");
        if (perStepBatchNorm > 0 && !batchNorm) throw new ArgumentException("per-step batch norm needs batchNorm: true", nameof(perStepBatchNorm));
        Ways = ways;
        Channels = channels;
        Side = height;
        Filters = filters;
        _blocks = blocks;
        BatchNorm = batchNorm;
        BatchNormEpsilon = batchNormEpsilon;
        StepSets = perStepBatchNorm;
        var side = height;
        for (var b = 0; b < blocks; b++) side /= 2;
        Features = filters * side * side;

        var parameters = new List<(string, long[], int)>();
        var sets = Math.Max(perStepBatchNorm, 1);
        _kernelSlot = new int[blocks];
        _gammaSlot = new int[blocks, sets];
        for (var b = 0; b < blocks; b++)
        {
            var inChannels = b == 0 ? channels : filters;
            _kernelSlot[b] = parameters.Count;
            parameters.Add(($"conv{b + 1}.weight", [filters, inChannels, 3, 3], b));
            if (!batchNorm)
            {
                parameters.Add(($"conv{b + 1}.bias", [filters], b));
                continue;
            }
            for (var s = 0; s < sets; s++)
            {
                var name = perStepBatchNorm == 0 ? $"norm{b + 1}" : $"norm{b + 1}.step{s}";
                _gammaSlot[b, s] = parameters.Count;
                parameters.Add(($"{name}.weight", [filters], b));
                parameters.Add(($"{name}.bias", [filters], b));
            }
        }
        parameters.Add(("head.weight", [Features, ways], blocks));
        parameters.Add(("head.bias", [ways], blocks));
        Layout = ParameterLayout.Of([.. parameters]);
        _sizes = [.. Layout.Slots.Select(slot => slot.Size)];
        if (perStepBatchNorm > 0)
            foreach (var b in Enumerable.Range(0, blocks))
                for (var s = 0; s < sets; s++)
                {
                    _perStep.Add(Layout.Slots[_gammaSlot[b, s]]);
                    _perStep.Add(Layout.Slots[_gammaSlot[b, s] + 1]);
                }
        _runningMean = new Tensor?[blocks];
        _runningVar = new Tensor?[blocks];
    }

    /// <summary>Omniglot's conv-4: 28 × 28 × 1 inputs, 64 filters, batch norm.</summary>
    public static ConvNet ForOmniglot(int ways) => new(ways, channels: 1, height: 28, width: 28, filters: 64);

    /// <summary>Mini-ImageNet's conv-4: 84 × 84 × 3 inputs, 32 filters, batch norm.</summary>
    public static ConvNet ForMiniImageNet(int ways) => new(ways, channels: 3, height: 84, width: 84, filters: 32);

    /// <inheritdoc />
    public ParameterLayout Layout { get; }

    /// <summary>Values per image, C·H·W (inputs are [T, N, C, H, W]).</summary>
    public int Inputs => Channels * Side * Side;

    /// <summary>The number of classes N (logits per image).</summary>
    public int Outputs => Ways;

    /// <summary>Classes per task.</summary>
    public int Ways { get; }

    /// <summary>Input channels C.</summary>
    public int Channels { get; }

    /// <summary>Input height and width.</summary>
    public int Side { get; }

    /// <summary>Filters per convolution.</summary>
    public int Filters { get; }

    /// <summary>Number of conv blocks.</summary>
    public int Blocks => _blocks;

    /// <summary>Whether blocks normalise with per-task batch statistics.</summary>
    public bool BatchNorm { get; }

    /// <summary>Batch norm's variance guard ε.</summary>
    public double BatchNormEpsilon { get; }

    /// <inheritdoc />
    /// <remarks>0 when per-step batch norm is off (the default): the network then has one shared, adapted γ/β set.</remarks>
    public int StepSets { get; }

    /// <summary>Weight of the newest batch in the per-step running statistics (PyTorch's default 0.1).</summary>
    public double BatchNormMomentum { get; init; } = 0.1;

    /// <summary>
    /// Whether plain forward passes and test-time adaptation use the per-step running statistics (else batch statistics).
    /// Only with per-step batch norm; setting it otherwise throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public bool UseRunningStatistics
    {
        get => _useRunningStatistics;
        set
        {
            if (value && StepSets == 0) throw new InvalidOperationException("running statistics need per-step batch norm (perStepBatchNorm ≥ 1)");
            _useRunningStatistics = value;
        }
    }

    /// <inheritdoc />
    public NormalizationStatistics InferenceStatistics => UseRunningStatistics ? NormalizationStatistics.Running : NormalizationStatistics.Batch;

    /// <inheritdoc />
    public bool AdaptsInInnerLoop(ParameterSlot slot) => !_perStep.Contains(slot);

    /// <summary>The running mean [StepSets, F] of block <paramref name="block"/> (0-based), or null before any tracking.</summary>
    public Tensor? RunningMean(int block) => _runningMean[block];

    /// <summary>The running (unbiased) variance [StepSets, F] of block <paramref name="block"/>, or null before any tracking.</summary>
    public Tensor? RunningVariance(int block) => _runningVar[block];

    /// <summary>Forgets the running statistics (mean 0, variance 1 from the next use).</summary>
    public void ResetRunningStatistics()
    {
        for (var b = 0; b < _runningMean.Length; b++)
        {
            _runningMean[b]?.Dispose();
            _runningVar[b]?.Dispose();
            _runningMean[b] = _runningVar[b] = null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => ResetRunningStatistics();

    /// <summary>Size of the flattened feature vector the head sees (filters × side²).</summary>
    public int Features { get; }

    /// <summary>The image shape [C, H, W] one task's inputs must have after [T, N].</summary>
    public long[] ImageShape => [Channels, Side, Side];

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="WeightInit.PyTorch"/>: <c>nn.Conv2d</c>/<c>nn.Linear</c> defaults, weights and biases uniform in
    /// ±1/√fan_in (kaiming uniform with a = √5). <see cref="WeightInit.Finn"/>: the reference code's conv initialiser,
    /// Glorot (Xavier) uniform in ±√(6 / (fan_in + fan_out)) for convolutions and the head, zero biases. Both: batch-norm
    /// γ = 1, β = 0.
    /// </remarks>
    public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var pieces = new List<Tensor>(Layout.Slots.Count);
        foreach (var slot in Layout.Slots)
        {
            var kind = slot.Name[(slot.Name.LastIndexOf('.') + 1)..];
            var isConv = slot.Name.StartsWith("conv", StringComparison.Ordinal);
            var isNorm = slot.Name.StartsWith("norm", StringComparison.Ordinal);
            var (fanIn, fanOut) = isConv
                ? (InChannels(slot.Layer) * 9L, (long)Filters * 9)
                : ((long)Features, (long)Ways);
            pieces.Add((scheme, isNorm, kind) switch
            {
                (_, true, "weight") => ones(slot.Shape, dtype),
                (_, true, _) => zeros(slot.Shape, dtype),
                (WeightInit.PyTorch, _, _) => Uniform(slot.Shape, 1.0 / Math.Sqrt(fanIn), generator, dtype),
                (WeightInit.Finn, _, "weight") => Uniform(slot.Shape, Math.Sqrt(6.0 / (fanIn + fanOut)), generator, dtype),
                (WeightInit.Finn, _, _) => zeros(slot.Shape, dtype),
                _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialisation"),
            });
        }
        return cat(pieces.Select(p => p.flatten()).ToArray(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits [T, N, ways] for weights [T, P] and images [T, N, C, H, W]. Throws <see cref="ArgumentException"/> on a
    /// shape mismatch (before any tensor reaches autograd). With per-step batch norm: the last set and
    /// <see cref="InferenceStatistics"/>.
    /// </summary>
    public Tensor Forward(Tensor weights, Tensor input) => Forward(weights, input, Math.Max(StepSets - 1, 0), InferenceStatistics);

    /// <summary>
    /// Logits with batch-norm set <paramref name="step"/> (the last set beyond <see cref="StepSets"/>) and the given
    /// statistics. Without per-step batch norm the step is ignored, both batch modes are plain batch statistics and
    /// <see cref="NormalizationStatistics.Running"/> throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public Tensor Forward(Tensor weights, Tensor input, int step, NormalizationStatistics statistics)
    {
        CheckShapes(weights, input, Layout.Count, "weights");
        // One split for all parameters (its backward is a single concatenation).
        var parts = weights.split(_sizes, 1);
        return HeadOf(parts[^2], parts[^1], Body(parts, input, step, statistics));
    }

    /// <inheritdoc />
    public long HeadOffset => Layout.Slots[^2].Offset;

    /// <summary>
    /// The conv blocks: body weights [T, <see cref="HeadOffset"/>], images [T, N, C, H, W] → features [T, N,
    /// <see cref="Features"/>]. Implemented explicitly because <see cref="Features"/> already names the feature count.
    /// </summary>
    Tensor IHeadNetwork.Features(Tensor bodyWeights, Tensor input)
    {
        CheckShapes(bodyWeights, input, HeadOffset, "body weights");
        return Body(bodyWeights.split(_sizes[..^2], 1), input, Math.Max(StepSets - 1, 0), InferenceStatistics);
    }

    /// <summary>The linear head: head weights [T, P − <see cref="HeadOffset"/>], features [T, N, <see cref="Features"/>] → logits [T, N, ways].</summary>
    public Tensor Head(Tensor headWeights, Tensor features)
    {
        var headSize = Layout.Count - HeadOffset;
        if (headWeights.dim() != 2 || headWeights.Dims()[1] != headSize)
            throw new ArgumentException($"conv net head weights must be [tasks, {headSize}], got [{string.Join(", ", headWeights.Dims())}]");
        if (features.dim() != 3 || features.Dims()[0] != headWeights.Dims()[0] || features.Dims()[2] != Features)
            throw new ArgumentException($"conv net features must be [{headWeights.Dims()[0]}, images, {Features}], got [{string.Join(", ", features.Dims())}]");
        var parts = headWeights.split(_sizes[^2..], 1);
        return HeadOf(parts[0], parts[1], features);
    }

    /// <summary>The conv blocks on the first slots of <paramref name="parts"/> (one tensor [T, size] per slot).</summary>
    private Tensor Body(Tensor[] parts, Tensor input, int step, NormalizationStatistics statistics)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "the step must be ≥ 0");
        if (StepSets == 0 && statistics == NormalizationStatistics.Running)
            throw new InvalidOperationException("running statistics need per-step batch norm (perStepBatchNorm ≥ 1)");
        var set = StepSets == 0 ? 0 : Math.Min(step, StepSets - 1);
        var tasks = parts[0].Dims()[0];
        var images = input.Dims()[1];
        // [T, N, C, H, W] → [N, T·C, H, W]: task t's channels are group t of every grouped operation below.
        var h = tasks == 1
            ? input.squeeze(0)
            : input.transpose(0, 1).reshape(images, tasks * Channels, Side, Side);
        for (var b = 0; b < _blocks; b++)
        {
            var k = _kernelSlot[b];
            var kernel = parts[k].reshape(tasks * Filters, InChannels(b), 3, 3);
            if (BatchNorm)
            {
                h = BatchedOps.Conv2d(h, kernel, null, padding: Padding1, groups: tasks);
                var gamma = parts[_gammaSlot[b, set]].reshape(tasks * Filters);
                var beta = parts[_gammaSlot[b, set] + 1].reshape(tasks * Filters);
                h = Normalise(h, b, set, tasks, statistics, gamma, beta);
            }
            else
            {
                h = BatchedOps.Conv2d(h, kernel, parts[k + 1].reshape(tasks * Filters), padding: Padding1, groups: tasks);
            }
            h = nn.functional.relu(MaxPool2.Apply(h));
        }
        // [N, T·F, s, s] → [T, N, F·s·s]: each image's features in (filter, row, column) order, as a per-task flatten.
        return h.view(images, tasks, Features).transpose(0, 1);
    }

    /// <summary>Batch norm of <paramref name="h"/> [N, T·F, h, w] (channel t·F + f is task t's filter f) with set <paramref name="set"/>.</summary>
    private Tensor Normalise(Tensor h, int block, int set, long tasks, NormalizationStatistics statistics, Tensor gamma, Tensor beta)
    {
        if (StepSets > 0 && statistics == NormalizationStatistics.Running)
        {
            var (mean, variance) = Buffers(block, h.dtype);
            var scale = gamma / (variance[set].repeat(tasks) + BatchNormEpsilon).sqrt();      // [T·F]: set s's statistics for every task
            var shift = beta - mean[set].repeat(tasks) * scale;
            return h * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1);
        }
        if (StepSets > 0 && statistics == NormalizationStatistics.BatchAndTrack)
        {
            using var noGrad = no_grad();
            var (mean, variance) = Buffers(block, h.dtype);
            var values = h.Dims()[0] * h.Dims()[2] * h.Dims()[3];                                  // per task and channel
            var detached = h.detach();
            var batchMean = detached.mean([0, 2, 3]);                                           // [T·F]
            var batchVar = (detached - batchMean.view(1, -1, 1, 1)).square().mean([0, 2, 3]);  // biased
            var unbiased = values > 1 ? batchVar * ((double)values / (values - 1)) : batchVar;
            mean[set].mul_(1 - BatchNormMomentum).add_(batchMean.view(tasks, Filters).mean([0]), alpha: BatchNormMomentum);
            variance[set].mul_(1 - BatchNormMomentum).add_(unbiased.view(tasks, Filters).mean([0]), alpha: BatchNormMomentum);
        }
        return nn.functional.batch_norm(h, null, null, gamma, beta, training: true, eps: BatchNormEpsilon);
    }

    private (Tensor Mean, Tensor Variance) Buffers(int block, ScalarType dtype)
    {
        if (_runningMean[block] is not { } mean || mean.dtype != dtype)
        {
            var (oldMean, oldVar) = (_runningMean[block], _runningVar[block]);
            _runningMean[block] = (oldMean?.to_type(dtype) ?? zeros([StepSets, Filters], dtype)).DetachFromDisposeScope();
            _runningVar[block] = (oldVar?.to_type(dtype) ?? ones([StepSets, Filters], dtype)).DetachFromDisposeScope();
            oldMean?.Dispose();
            oldVar?.Dispose();
        }
        return (_runningMean[block]!, _runningVar[block]!);
    }

    private Tensor HeadOf(Tensor weight, Tensor bias, Tensor features)
    {
        var tasks = weight.Dims()[0];
        return BatchedOps.AddBatchMatMul(bias.view(tasks, 1, Ways), features, weight.view(tasks, Features, Ways));
    }

    private static readonly long[] Padding1 = [1, 1];

    private long InChannels(int block) => block == 0 ? Channels : Filters;

    private void CheckShapes(Tensor weights, Tensor input, long count, string what)
    {
        if (weights.dim() != 2 || weights.Dims()[1] != count)
            throw new ArgumentException($"conv net {what} must be [tasks, {count}], got [{string.Join(", ", weights.Dims())}]");
        if (input.dim() != 5 || input.Dims()[0] != weights.Dims()[0] || input.Dims()[2] != Channels || input.Dims()[3] != Side || input.Dims()[4] != Side)
            throw new ArgumentException(
                $"conv net inputs must be [{weights.Dims()[0]}, images, {Channels}, {Side}, {Side}], got [{string.Join(", ", input.Dims())}]");
        // Batch norm needs more than one value per channel; it normalises before pooling, where maps are ≥ 2 × 2.
        if (input.Dims()[1] < 1) throw new ArgumentException("conv net inputs need at least one image per task");
        if (input.dtype != weights.dtype) throw new ArgumentException($"inputs are {input.dtype} but weights are {weights.dtype}");
    }

    private static Tensor Uniform(long[] shape, double bound, Generator generator, ScalarType dtype) =>
        ((rand(shape, ScalarType.Float64, generator: generator) * 2 - 1) * bound).to_type(dtype);
}
