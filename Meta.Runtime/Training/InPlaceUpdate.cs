using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// Optimiser updates as one managed pass over flat CPU tensors, for the common case (dense float32 or float64 on the
/// CPU, no autograd history): one loop instead of six libtorch calls and their temporaries per step. The same formulas
/// as the tensor code beside them, so results differ only by float rounding. Returns false where the tensors do not
/// qualify, and the caller runs its tensor code.
/// </summary>
internal static class InPlaceUpdate
{
    /// <summary>
    /// Adam: m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², p ← p − step·(m·scale) / (√v / root2 + ε), with
    /// <paramref name="step"/> = lr / (1 − β1ᵗ) and <paramref name="root2"/> = √(1 − β2ᵗ).
    /// </summary>
    public static bool TryAdam(Tensor parameters, Tensor gradient, Tensor m, Tensor v, Tensor? scale,
        double beta1, double beta2, double epsilon, double step, double root2)
    {
        if (!Qualifies(parameters, gradient, m, v) || scale is not null && !Qualifies(parameters, scale)) return false;
        if (parameters.dtype == ScalarType.Float32)
            Adam<float>(Span<float>(parameters), Span<float>(gradient), Span<float>(m), Span<float>(v), scale is null ? default : Span<float>(scale), beta1, beta2, epsilon, step, root2);
        else
            Adam<double>(Span<double>(parameters), Span<double>(gradient), Span<double>(m), Span<double>(v), scale is null ? default : Span<double>(scale), beta1, beta2, epsilon, step, root2);
        return true;
    }

    /// <summary>Whether every tensor is a dense CPU float32/float64 tensor of the first one's dtype and length, without grad.</summary>
    internal static bool Qualifies(Tensor first, params ReadOnlySpan<Tensor> others)
    {
        if (first.dtype is not (ScalarType.Float32 or ScalarType.Float64)) return false;
        var (dtype, length) = (first.dtype, first.numel());
        if (!Dense(first, dtype, length)) return false;
        foreach (var t in others)
            if (!Dense(t, dtype, length)) return false;
        return true;
    }

    // A contiguous CPU tensor of this dtype and length, without grad (each check one direct libtorch call).
    private static bool Dense(Tensor t, ScalarType dtype, long length) =>
        t.device_type == TorchSharp.DeviceType.CPU && t.dtype == dtype && !t.requires_grad && t.is_contiguous() && t.numel() == length;

    internal static Span<T> Span<T>(Tensor t) where T : unmanaged => MemoryMarshal.Cast<byte, T>(t.bytes);

    // Fully optimised at the first call, as the MLP kernel's loops (MlpKernel<T>): not tier-0 code for a run's first second.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Adam<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, ReadOnlySpan<T> scale, double beta1, double beta2, double epsilon, double step, double root2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (b1, c1) = (T.CreateTruncating(beta1), T.CreateTruncating(1 - beta1));
        var (b2, c2) = (T.CreateTruncating(beta2), T.CreateTruncating(1 - beta2));
        var (eps, lr, r2) = (T.CreateTruncating(epsilon), T.CreateTruncating(step), T.CreateTruncating(root2));
        var i = 0;
        if (Vector256.IsHardwareAccelerated && scale.IsEmpty)
        {
            var (vb1, vc1, vb2, vc2) = (Vector256.Create(b1), Vector256.Create(c1), Vector256.Create(b2), Vector256.Create(c2));
            var (veps, vlr, vr2) = (Vector256.Create(eps), Vector256.Create(lr), Vector256.Create(r2));
            ref var rp = ref MemoryMarshal.GetReference(p);
            ref var rg = ref MemoryMarshal.GetReference(g);
            ref var rm = ref MemoryMarshal.GetReference(m);
            ref var rv = ref MemoryMarshal.GetReference(v);
            for (; i + Vector256<T>.Count <= p.Length; i += Vector256<T>.Count)
            {
                var at = (nuint)i;
                var gi = Vector256.LoadUnsafe(ref rg, at);
                var mi = Vector256.LoadUnsafe(ref rm, at) * vb1 + vc1 * gi;
                var vi = Vector256.LoadUnsafe(ref rv, at) * vb2 + vc2 * (gi * gi);
                mi.StoreUnsafe(ref rm, at);
                vi.StoreUnsafe(ref rv, at);
                (Vector256.LoadUnsafe(ref rp, at) - vlr * (mi / (Vector256.Sqrt(vi) / vr2 + veps))).StoreUnsafe(ref rp, at);
            }
        }
        for (; i < p.Length; i++)
        {
            m[i] = m[i] * b1 + c1 * g[i];
            v[i] = v[i] * b2 + c2 * (g[i] * g[i]);
            var mi = scale.IsEmpty ? m[i] : m[i] * scale[i];
            p[i] -= lr * (mi / (T.Sqrt(v[i]) / r2 + eps));
        }
    }
}
