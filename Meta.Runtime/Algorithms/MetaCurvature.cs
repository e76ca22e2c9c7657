using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Algorithms;

/// <summary>How Meta-Curvature stores its matrices.</summary>
public enum CurvatureParameterization
{
    /// <summary>The meta-parameters are the matrices (Park &amp; Oliva): they may become indefinite and turn gradient directions uphill.</summary>
    Direct,

    /// <summary>The meta-parameters are factors L, M = L·Lᵀ (starting at L = I): every matrix, and so every Kronecker-factored preconditioner, is positive semidefinite.</summary>
    PositiveSemidefinite,
}

/// <summary>
/// Meta-Curvature (Park &amp; Oliva 2019), task-batched, for networks of linear layers and convolutions. Every layer gets
/// one learned matrix per mode of its weight, all starting at the identity, and inner steps use the transformed gradient
/// G' in φ ← φ − α·G':
/// <list type="bullet">
/// <item>linear weight W [in, out] (our storage): M_in [in, in] and M_out [out, out], G' = M_in · G · M_out;</item>
/// <item>convolution kernel K [out, in, kh, kw]: M_out [out, out], M_in [in, in] and M_f [kh·kw, kh·kw], the
/// tensor-mode product G'[o, c, k] = Σ M_out[o', o] · M_in[c, c'] · M_f[k, k'] · G[o', c', k'] over the kernel viewed
/// as [out, in, kh·kw] — input-side modes multiplied from the left, the output mode from the right, as on the linear
/// weight;</item>
/// <item>1-D parameters of a layer ([out]: a bias, or batch norm's γ and β after a convolution) share the layer's
/// output-mode matrix, g' = g · M_out: a bias is the extra input slice of the augmented weight, which only the output
/// mode touches, and γ and β are indexed by the same output channels, so none of them needs a parameter of its
/// own.</item>
/// </list>
/// θ and every matrix are learned jointly through the query loss, second order by default. Meta-parameters are θ, then
/// each layer's matrices in the mode order of its stored weight (linear: M_in, M_out; convolution: M_out, M_in, M_f),
/// each row-major, then — with <c>learnedLearningRates</c> — the rates [S × layers]: inner step s moves every parameter
/// of layer l by lr[s, l]·G' (MAML++'s LSLR on top of the curvature, initialised to the inner rate; test-time steps
/// beyond S reuse the last row). Networks with per-step batch norm (<see cref="IStepwiseNetwork"/> with step sets) are
/// rejected.
/// </summary>
public sealed class MetaCurvature : IMetaAlgorithm
{
    private readonly Transform[] _transforms;
    private readonly long[] _slotSizes;
    private readonly long[] _matrixSides;
    private readonly long[] _matrixSizes;
    private readonly long[] _rateColumn;           // per parameter: its layer's column in the rate matrix

    /// <summary>Creates Meta-Curvature with the mean-squared-error loss.</summary>
    public MetaCurvature(IFunctionalNetwork network, int innerSteps, double innerLr, bool firstOrder = false, bool learnedLearningRates = false, LearnedRateMapping? rates = null,
        CurvatureParameterization curvature = CurvatureParameterization.Direct)
        : this(network, TaskLoss.MeanSquaredErrorLoss, innerSteps, innerLr, firstOrder, learnedLearningRates, rates, curvature) { }

    /// <summary>
    /// Creates Meta-Curvature with per-task loss <paramref name="loss"/>; <paramref name="learnedLearningRates"/> adds a
    /// learned inner rate per layer and per inner step (the "MAML Enhanced" combination of Meta-Curvature and LSLR), stored
    /// through <paramref name="rates"/> (null: <see cref="LearnedRateMapping.Direct"/>); <paramref name="curvature"/> says
    /// whether the stored matrices are the curvature matrices (the paper) or their factors L with M = L·Lᵀ.
    /// </summary>
    public MetaCurvature(IFunctionalNetwork network, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder = false, bool learnedLearningRates = false,
        LearnedRateMapping? rates = null, CurvatureParameterization curvature = CurvatureParameterization.Direct)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "Meta-Curvature needs at least 1 inner step");
        InnerLoop.Positive(innerLr, nameof(innerLr), "the inner learning rate");
        if (network is IStepwiseNetwork { StepSets: > 0 } stepwise)
            throw new ArgumentException(
                $"Meta-Curvature does not run per-step batch norm (the network has {stepwise.StepSets} per-step sets, a MAML++ feature); use a network without per-step sets",
                nameof(network));
        Network = network;
        Loss = loss;
        InnerSteps = innerSteps;
        InnerLr = innerLr;
        FirstOrder = firstOrder;
        LearnedLearningRates = learnedLearningRates;
        Rates = rates ?? LearnedRateMapping.Direct;
        Curvature = curvature is CurvatureParameterization.Direct or CurvatureParameterization.PositiveSemidefinite
            ? curvature
            : throw new ArgumentOutOfRangeException(nameof(curvature), curvature, "expected Direct or PositiveSemidefinite");
        if (learnedLearningRates) Rates.FromRate(innerLr);

        var slots = network.Layout.Slots;
        var matrices = new List<long>();                                               // side of each matrix
        var weightOf = new Dictionary<int, Transform>();                               // layer → its weight's transform
        _transforms = new Transform[slots.Count];
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            if (slot.Shape.Length is not (2 or 4)) continue;
            if (weightOf.ContainsKey(slot.Layer))
                throw new ArgumentException($"Meta-Curvature expects one weight per layer; layer {slot.Layer} has two ({slot.Name})", nameof(network));
            var first = matrices.Count;
            Transform transform;
            if (slot.Shape.Length == 2)                                                // linear [in, out]
            {
                transform = new Transform(Kind.Linear, InMatrix: first, OutMatrix: first + 1, FilterMatrix: -1, slot.Shape[1], slot.Shape[0], Taps: 1);
                matrices.AddRange([slot.Shape[0], slot.Shape[1]]);
            }
            else                                                                       // convolution [out, in, kh, kw]
            {
                var taps = slot.Shape[2] * slot.Shape[3];
                transform = new Transform(Kind.Convolution, InMatrix: first + 1, OutMatrix: first, FilterMatrix: first + 2, slot.Shape[0], slot.Shape[1], taps);
                matrices.AddRange([slot.Shape[0], slot.Shape[1], taps]);
            }
            weightOf[slot.Layer] = transform;
            _transforms[i] = transform;
        }
        for (var i = 0; i < slots.Count; i++)
        {
            var slot = slots[i];
            if (slot.Shape.Length is 2 or 4) continue;
            if (slot.Shape.Length != 1 || !weightOf.TryGetValue(slot.Layer, out var weight) || weight.Out != slot.Shape[0])
                throw new ArgumentException(
                    $"Meta-Curvature supports linear layers (weight [in, out]) and convolutions (kernel [out, in, kh, kw]), each with 1-D parameters [out] (biases, batch-norm γ and β); cannot transform '{slot.Name}' [{string.Join(", ", slot.Shape)}]",
                    nameof(network));
            _transforms[i] = new Transform(Kind.Vector, InMatrix: -1, weight.OutMatrix, FilterMatrix: -1, slot.Shape[0], In: 0, Taps: 1);
        }
        _slotSizes = [.. slots.Select(s => s.Size)];
        _matrixSides = [.. matrices];
        _matrixSizes = [.. matrices.Select(side => side * side)];
        MatrixCount = _matrixSizes.Sum();

        var layers = slots.Select(s => s.Layer).Distinct().Order().ToList();
        Layers = layers.Count;
        _rateColumn = new long[network.Layout.Count];
        foreach (var slot in slots) Array.Fill(_rateColumn, layers.IndexOf(slot.Layer), (int)slot.Offset, (int)slot.Size);
    }

    /// <inheritdoc />
    public IFunctionalNetwork Network { get; }

    /// <inheritdoc />
    public ITaskLoss Loss { get; }

    /// <summary>Inner steps S during meta-training.</summary>
    public int InnerSteps { get; }

    /// <summary>Inner learning rate α (the initial value of every learned rate when <see cref="LearnedLearningRates"/>).</summary>
    public double InnerLr { get; }

    /// <summary>Whether second-order terms are dropped.</summary>
    public bool FirstOrder { get; }

    /// <summary>Whether every layer has a learned inner rate per inner step (LSLR), meta-parameters [S × <see cref="Layers"/>] after the matrices.</summary>
    public bool LearnedLearningRates { get; }

    /// <summary>How the stored LSLR meta-parameters map to rates.</summary>
    public LearnedRateMapping Rates { get; }

    /// <summary>Whether the stored matrices are the curvature matrices or factors L of M = L·Lᵀ.</summary>
    public CurvatureParameterization Curvature { get; }

    /// <summary>Number of layers (each gets one learned rate per step when <see cref="LearnedLearningRates"/>).</summary>
    public int Layers { get; }

    /// <summary>Number of curvature entries after θ in the meta-parameters.</summary>
    public long MatrixCount { get; }

    /// <inheritdoc />
    public string Name => (FirstOrder ? "fo-" : "") + (LearnedLearningRates ? "metacurvature-lslr" : "metacurvature");

    private long P => Network.Layout.Count;

    private long RateCount => LearnedLearningRates ? (long)InnerSteps * Layers : 0;

    /// <summary>[θ, identity matrices, rates]: P + Σ (side²) entries, plus S × layers rates equal to the inner rate with LSLR.</summary>
    public Tensor InitialMetaParameters(Tensor theta)
    {
        InnerLoop.CheckTheta(Network, theta);
        var pieces = new List<Tensor> { theta.detach() };
        pieces.AddRange(_matrixSides.Select(side => eye(side, dtype: theta.dtype).flatten()));
        if (RateCount > 0) pieces.Add(full([RateCount], Rates.FromRate(InnerLr), dtype: theta.dtype));
        return cat(pieces, 0);
    }

    /// <inheritdoc />
    public Tensor Weights(Tensor metaParameters) => metaParameters.narrow(0, 0, P);

    /// <summary>
    /// The curvature matrices of <paramref name="metaParameters"/> (views when <see cref="Curvature"/> is direct; L·Lᵀ of
    /// the stored L otherwise), layer by layer in the mode order of each weight: linear M_in, M_out; convolution M_out,
    /// M_in, M_f.
    /// </summary>
    public IReadOnlyList<Tensor> Matrices(Tensor metaParameters)
    {
        var flat = metaParameters.narrow(0, P, MatrixCount).split(_matrixSizes);
        return Curvature == CurvatureParameterization.Direct
            ? [.. flat.Select((m, i) => m.view(_matrixSides[i], _matrixSides[i]))]
            : [.. flat.Select((m, i) => m.view(_matrixSides[i], _matrixSides[i])).Select(l => l.matmul(l.t()))];
    }

    /// <inheritdoc />
    public IReadOnlyList<(long Offset, long Count)> LearnedRateRanges => RateCount == 0 ? [] : [(P + MatrixCount, RateCount)];

    /// <summary>The learned rates [S, layers] (a view when <see cref="Rates"/> is direct); throws when <see cref="LearnedLearningRates"/> is off.</summary>
    public Tensor LearningRates(Tensor metaParameters)
    {
        if (RateCount == 0) throw new InvalidOperationException("learned learning rates are off");
        return Rates.ToRates(metaParameters.narrow(0, P + MatrixCount, RateCount).view(InnerSteps, Layers));
    }

    /// <summary>The transformed gradient: per-task gradients [T, P] → [T, P], every slot multiplied by its layer's matrices.</summary>
    public Tensor TransformGradient(Tensor gradient, IReadOnlyList<Tensor> matrices)
    {
        var tasks = gradient.Dims()[0];
        var parts = gradient.split(_slotSizes, 1);
        var transformed = new Tensor[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var t = _transforms[i];
            transformed[i] = t.Kind switch
            {
                Kind.Vector => parts[i].matmul(matrices[t.OutMatrix]),
                Kind.Linear => matrices[t.InMatrix].matmul(parts[i].view(tasks, t.In, t.Out)).matmul(matrices[t.OutMatrix]).reshape(tasks, -1),
                _ => ConvolutionMode(parts[i], t, tasks, matrices),
            };
        }
        return cat(transformed, 1);
    }

    /// <summary>G [T, out·in·taps] → G ×_out M_out ×_in M_in ×_f M_f, one broadcast <c>matmul</c> per mode.</summary>
    private static Tensor ConvolutionMode(Tensor gradient, Transform t, long tasks, IReadOnlyList<Tensor> matrices)
    {
        var g = matrices[t.OutMatrix].t().matmul(gradient.view(tasks, t.Out, t.In * t.Taps));    // Σ_o' M_out[o', o]·G[o', …]
        g = matrices[t.InMatrix].matmul(g.view(tasks * t.Out, t.In, t.Taps));                    // Σ_c' M_in[c, c']·G[…, c', k]
        g = g.matmul(matrices[t.FilterMatrix].t());                                              // Σ_k' M_f[k, k']·G[…, k']
        return g.reshape(tasks, -1);
    }

    /// <inheritdoc />
    public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
    {
        Check(metaParameters);
        InnerLoop.CheckEpisode(Network, Loss, episode, taskWeights);
        using var enabled = enable_grad();
        using var leaf = metaParameters.detach().requires_grad_(true);
        var fast = Run(leaf, episode.SupportX, episode.SupportY, InnerSteps, differentiable: !FirstOrder);
        var taskLosses = InnerLoop.QueryLosses(Network, Loss, fast, episode);
        var metaLoss = InnerLoop.WeightedMean(taskLosses, taskWeights);
        var gradient = torch.autograd.grad([metaLoss], [leaf])[0];
        var diagnostics = new StepDiagnostics().Curvature(Matrices(leaf));
        if (RateCount > 0) diagnostics.Rates(LearningRates(leaf));
        diagnostics.InnerLoop(Network, Loss, Weights(leaf), fast, episode.SupportX, episode.SupportY);
        return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach()) { Diagnostics = diagnostics.Values };
    }

    /// <summary>Test-time rule: <paramref name="steps"/> steps with the learned curvature (and rates; steps beyond S use the last row).</summary>
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
        // Per-step, per-parameter rates [S, P]: the learned rate of each parameter's layer.
        var rates = RateCount == 0 ? null : LearningRates(meta).index_select(1, tensor(_rateColumn));
        return InnerLoop.Iterate(InnerLoop.Expand(Weights(meta), x.Dims()[0]), steps, (fast, s) =>
        {
            var update = TransformGradient(InnerLoop.Gradient(Network, Loss, fast, x, y, differentiable), matrices);
            return rates is null ? fast.add(update, -InnerLr) : fast - rates[Math.Min(s, InnerSteps - 1)] * update;
        });
    }

    private void Check(Tensor metaParameters) =>
        InnerLoop.CheckMetaParameters(metaParameters, P + MatrixCount + RateCount,
            RateCount == 0 ? "θ and the curvature matrices" : "θ, the curvature matrices and the per-step, per-layer learning rates");

    private enum Kind { Linear, Convolution, Vector }

    /// <summary>
    /// How one slot's gradient is transformed: matrix indices into the flat list (−1 = none) and the weight's output,
    /// input and filter-tap sizes.
    /// </summary>
    private readonly record struct Transform(Kind Kind, int InMatrix, int OutMatrix, int FilterMatrix, long Out, long In, long Taps);
}
