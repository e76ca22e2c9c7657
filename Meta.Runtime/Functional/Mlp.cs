using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// A task-batched multilayer perceptron with ReLU between layers, e.g. the 1-40-40-1 network of sinusoid regression.
/// Each layer is one fused <c>baddbmm</c> over all tasks: weights are stored [in, out] so no transpose is needed.
/// Implements <see cref="IAnalyticNetwork"/> (Mlp.Analytic.cs): hand-derived gradients and Hessian-vector products for
/// the mean-squared-error and cross-entropy losses, which MAML uses instead of autograd.
/// </summary>
public sealed partial class Mlp : IFunctionalNetwork, IHeadNetwork, IAnalyticNetwork
{
    private readonly int[] _widths;

    /// <summary>Creates an MLP with the given layer widths, input first and output last (at least two).</summary>
    public Mlp(params int[] widths) : this(Activation.Relu, widths)
    {
    }

    /// <summary>An MLP of the given layer widths (input first, output last) with <paramref name="activation"/> between layers.</summary>
    public Mlp(Activation activation, params int[] widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        Activation = activation;
        if (widths.Length < 2) throw new ArgumentException("an MLP needs at least an input and an output width", nameof(widths));
        if (widths.Any(w => w < 1)) throw new ArgumentException("every layer width must be at least 1", nameof(widths));
        _widths = widths;
        var parameters = new List<(string, long[], int)>();
        for (var l = 0; l < widths.Length - 1; l++)
        {
            parameters.Add(($"layer{l + 1}.weight", [widths[l], widths[l + 1]], l));
            parameters.Add(($"layer{l + 1}.bias", [widths[l + 1]], l));
        }
        Layout = ParameterLayout.Of([.. parameters]);
        _sizes = [.. Layout.Slots.Select(slot => slot.Size)];
    }

    private readonly long[] _sizes;

    /// <summary>The 1-40-40-1 ReLU network of Finn et al. (2017) for sinusoid regression.</summary>
    public static Mlp ForSinusoid() => new(1, 40, 40, 1);

    /// <inheritdoc />
    public ParameterLayout Layout { get; }

    /// <inheritdoc />
    public int Inputs => _widths[0];

    /// <inheritdoc />
    public int Outputs => _widths[^1];

    /// <summary>The layer widths, input first.</summary>
    public IReadOnlyList<int> Widths => _widths;

    /// <summary>The nonlinearity between layers.</summary>
    public Activation Activation { get; }

    /// <inheritdoc />
    public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var pieces = new List<Tensor>(Layout.Slots.Count);
        foreach (var slot in Layout.Slots)
        {
            var fanIn = _widths[slot.Layer];
            var isWeight = slot.Shape.Length == 2;
            pieces.Add(scheme switch
            {
                WeightInit.Finn when isWeight => TruncatedNormal(slot.Shape, 0.01, generator, dtype),
                WeightInit.Finn => zeros(slot.Shape, dtype),
                WeightInit.PyTorch => Uniform(slot.Shape, 1.0 / Math.Sqrt(fanIn), generator, dtype),
                _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialisation"),
            });
        }
        return cat(pieces.Select(p => p.flatten()).ToArray(), 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor weights, Tensor input)
    {
        // One split (its backward is a single concatenation) instead of a narrow per parameter, whose backward would
        // materialise a zero-filled [T, P] gradient for every slot.
        var tasks = weights.Dims()[0];
        var parts = weights.split(_sizes, 1);
        var h = input.dim() > 3 ? input.flatten(2) : input;           // [T, N, C, H, W] images as flat features
        var slots = Layout.Slots;
        for (var s = 0; s < slots.Count; s += 2)
        {
            var w = parts[s].view(tasks, slots[s].Shape[0], slots[s].Shape[1]);
            var b = parts[s + 1].view(tasks, 1, slots[s + 1].Shape[0]);
            h = BatchedOps.AddBatchMatMul(b, h, w);
            if (s + 2 < slots.Count) h = Activations.Apply(Activation, h);
        }
        return h;
    }

    /// <inheritdoc />
    public long HeadOffset => Layout.Slots[^2].Offset;

    /// <inheritdoc />
    public Tensor Features(Tensor bodyWeights, Tensor input)
    {
        var slots = Layout.Slots;
        if (slots.Count == 2) return input.dim() > 3 ? input.flatten(2) : input;   // a single layer: the body is the identity
        var tasks = bodyWeights.Dims()[0];
        var parts = bodyWeights.split(_sizes[..^2], 1);
        var h = input.dim() > 3 ? input.flatten(2) : input;
        for (var s = 0; s < slots.Count - 2; s += 2)
        {
            var w = parts[s].view(tasks, slots[s].Shape[0], slots[s].Shape[1]);
            var b = parts[s + 1].view(tasks, 1, slots[s + 1].Shape[0]);
            h = Activations.Apply(Activation, BatchedOps.AddBatchMatMul(b, h, w));
        }
        return h;
    }

    /// <inheritdoc />
    public Tensor Head(Tensor headWeights, Tensor features)
    {
        var tasks = headWeights.Dims()[0];
        var (weight, bias) = (Layout.Slots[^2], Layout.Slots[^1]);
        var parts = headWeights.split([weight.Size, bias.Size], 1);
        return BatchedOps.AddBatchMatMul(parts[1].view(tasks, 1, bias.Shape[0]), features, parts[0].view(tasks, weight.Shape[0], weight.Shape[1]));
    }

    private static Tensor TruncatedNormal(long[] shape, double std, Generator generator, ScalarType dtype)
    {
        // Inverse-CDF sampling of N(0, std²) truncated to ±2 std: u ~ U(Φ(−2), Φ(2)), x = √2·erfinv(2u − 1)·std.
        const double low = 0.022750131948179195, high = 0.9772498680518208;
        var u = rand(shape, ScalarType.Float64, generator: generator) * (high - low) + low;
        return (special.erfinv(u * 2 - 1) * (Math.Sqrt(2) * std)).to_type(dtype);
    }

    private static Tensor Uniform(long[] shape, double bound, Generator generator, ScalarType dtype) =>
        ((rand(shape, ScalarType.Float64, generator: generator) * 2 - 1) * bound).to_type(dtype);
}
