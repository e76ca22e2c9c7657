using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>
/// Meta-Curvature (Park &amp; Oliva 2019), task-batched, for networks of linear layers. Every layer l with weight
/// W_l [in, out] (our storage) and bias b_l [out] gets two learned matrices, M_in [in, in] and M_out [out, out], both
/// starting at the identity. Inner steps use the transformed gradient: G'_W = M_in · G_W · M_out and g'_b = g_b · M_out
/// (the bias is the extra input row of the augmented weight [W; b], so it shares the output-mode matrix and needs no
/// parameter of its own), then φ ← φ − α·G'. θ and every M are learned jointly through the query loss, second order by
/// default. Meta-parameters are [θ, M_in(1), M_out(1), M_in(2), M_out(2), …], each matrix flattened row-major.
/// Convolution kernels (which would add a filter-mode matrix) are not supported: the runtime has no convolutional
/// network yet.
/// </summary>
public sealed class MetaCurvature : IMetaAlgorithm
{
    private readonly Transform[] _transforms;
    private readonly long[] _slotSizes;
    private readonly long[] _matrixSides;
    private readonly long[] _matrixSizes;

    /// <summary>Creates Meta-Curvature with the mean-squared-error loss.</summary>
    public MetaCurvature(IFunctionalNetwork network, int innerSteps, double innerLr, bool firstOrder = false)
        : this(network, TaskLoss.MeanSquaredErrorLoss, innerSteps, innerLr, firstOrder) { }

    /// <summary>Creates Meta-Curvature with per-task loss <paramref name="loss"/>.</summary>
    public MetaCurvature(IFunctionalNetwork network, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "Meta-Curvature needs at least 1 inner step");
        InnerLoop.Positive(innerLr, nameof(innerLr), "the inner learning rate");
        Network = network;
        Loss = loss;
        InnerSteps = innerSteps;
        InnerLr = innerLr;
        FirstOrder = firstOrder;

        var slots = network.Layout.Slots;
        var matrices = new List<long>();                                               // side of each matrix
        var weightOf = new Dictionary<int, int>();                                     // layer → its weight's matrix pair
        _transforms = new Transform[slots.Count];
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            if (slot.Shape.Length != 2) continue;
            if (weightOf.ContainsKey(slot.Layer))
                throw new ArgumentException($"Meta-Curvature expects one weight matrix per layer; layer {slot.Layer} has two ({slot.Name})", nameof(network));
            weightOf[slot.Layer] = matrices.Count;
            _transforms[i] = new Transform(matrices.Count, matrices.Count + 1, slot.Shape[0], slot.Shape[1], IsBias: false);
            matrices.Add(slot.Shape[0]);
            matrices.Add(slot.Shape[1]);
        }
        var biasOf = new HashSet<int>();
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            if (slot.Shape.Length == 2) continue;
            if (slot.Shape.Length != 1 || !weightOf.TryGetValue(slot.Layer, out var pair) || !biasOf.Add(slot.Layer)
                || _transforms[FindWeight(slots, slot.Layer)].Out != slot.Shape[0])
                throw new ArgumentException(
                    $"Meta-Curvature supports linear layers only (one weight [in, out] and one bias [out] per layer); cannot transform '{slot.Name}' [{string.Join(", ", slot.Shape)}]",
                    nameof(network));
            _transforms[i] = new Transform(-1, pair + 1, 0, slot.Shape[0], IsBias: true);
        }
        _slotSizes = [.. slots.Select(s => s.Size)];
        _matrixSides = [.. matrices];
        _matrixSizes = [.. matrices.Select(side => side * side)];
        MatrixCount = _matrixSizes.Sum();
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>Inner steps during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>Inner learning rate α.</summary>
    public double InnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <summary>Number of curvature entries after θ in the meta-parameters.</summary>
    public long MatrixCount { get; }

    /// <inheritdoc />
    public string Name => FirstOrder ? "fo-metacurvature" : "metacurvature";

    private long P => Network.Layout.Count;

    /// <summary>[θ, identity matrices]: P + Σ_l (in_l² + out_l²) entries.</summary>
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        var pieces = new List<Tensor> { theta.detach() };
        foreach (var t in _transforms.Where(t => !t.IsBias))
        {
            pieces.Add(eye(t.In, dtype: theta.dtype).flatten());
            pieces.Add(eye(t.Out, dtype: theta.dtype).flatten());
        }
        return cat(pieces, 0);
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters.narrow(0, 0, P);

    /// <summary>The curvature matrices of <paramref name="metaParameters"/> in order M_in(1), M_out(1), … (views).</summary>
    public IReadOnlyList<Tensor> Matrices(Tensor metaParameters)
    {
        var flat = metaParameters.narrow(0, P, MatrixCount).split(_matrixSizes);
        return [.. flat.Select((m, i) => m.view(_matrixSides[i], _matrixSides[i]))];
    }

    /// <summary>The transformed gradient: per-task gradients [T, P] → [T, P] with every layer's M_in · G · M_out.</summary>
    public Tensor TransformGradient(Tensor gradient, IReadOnlyList<Tensor> matrices)
    {
        var tasks = gradient.shape[0];
        var parts = gradient.split(_slotSizes, 1);
        var transformed = new Tensor[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var t = _transforms[i];
            transformed[i] = t.IsBias
                ? parts[i].matmul(matrices[t.OutMatrix])
                : matrices[t.InMatrix].matmul(parts[i].view(tasks, t.In, t.Out)).matmul(matrices[t.OutMatrix]).reshape(tasks, t.In * t.Out);
        }
        return cat(transformed, 1);
    }

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        Check(metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        using var enabled = enable_grad();
        using var leaf = metaParameters.detach().requires_grad_(true);
        var fast = Run(leaf, episode.SupportX, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = Loss.PerTask(Network.Forward(fast, episode.QueryX), episode.QueryY);
        var metaLoss = InnerLoop.WeightedMean(taskLosses, taskWeights);
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach());
    }

    /// <summary>Test-time rule: <paramref name="steps"/> steps with the learned curvature.</summary>
    public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
    {
        Check(metaParameters);
        InnerLoop.CheckSupport(Network, Loss, supportX, supportY, steps);
        using var noGrad = no_grad();
        return Run(metaParameters.detach(), supportX, supportY, steps, differentiable: false).detach();
    }

    private Tensor Run(Tensor meta, Tensor x, Tensor y, int steps, bool differentiable)
    {
        var matrices = Matrices(meta);
        return InnerLoop.Iterate(InnerLoop.Expand(Weights(meta), x.shape[0]), steps,
            (fast, _) => fast - InnerLr * TransformGradient(InnerLoop.Gradient(Network, Loss, fast, x, y, differentiable), matrices));
    }

    private void Check(Tensor metaParameters) => InnerLoop.CheckMetaParameters(metaParameters, P + MatrixCount, "θ and the curvature matrices");

    private static int FindWeight(IReadOnlyList<ParameterSlot> slots, int layer)
    {
        for (var i = 0; i < slots.Count; i++)
            if (slots[i].Layer == layer && slots[i].Shape.Length == 2) return i;
        return -1;
    }

    /// <summary>How one slot's gradient is transformed: matrix indices (into the flat list) and the weight's shape.</summary>
    private readonly record struct Transform(int InMatrix, int OutMatrix, long In, long Out, bool IsBias);
}
