using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// 2 × 2 max-pooling with stride 2 (floor mode), the same values and the same gradients as
/// <c>nn.functional.max_pool2d(x, 2)</c> to every order of differentiation, in a fraction of libtorch's time on
/// NCHW tensors: the argmax of each window is found without a graph, in managed code over the tensor's memory, and the
/// output is <c>gather</c> of the input at those positions. gather is linear in its input for fixed positions, so
/// autograd differentiates it exactly as it does max-pooling (the gradient goes to each window's argmax; the double
/// backward is a gather again), while libtorch's NCHW max-pool kernel (2.10, CPU) spends about 6 ns per input element
/// in a scalar loop, 48 ms for one Omniglot block-1 map of 32 tasks × 5 images (conv4-ops).
/// </summary>
/// <remarks>
/// The argmax is libtorch's: windows are scanned row by row, a value replaces the running maximum when it is greater or
/// NaN, so ties go to the first position and a NaN wins (the last NaN in scan order). Anything else than a contiguous
/// float32/float64 CPU tensor of rank 4 under 2 GB takes libtorch's max-pool.
/// </remarks>
internal static class MaxPool2
{
    /// <summary>max_pool2d(<paramref name="x"/>, 2) for x [N, C, H, W].</summary>
    public static Tensor Apply(Tensor x)
    {
        if (x.dim() != 4 || x.device_type != DeviceType.CPU || !x.is_contiguous() || x.dtype is not (ScalarType.Float32 or ScalarType.Float64)
            || x.shape[2] < 2 || x.shape[3] < 2 || x.numel() * x.element_size() > int.MaxValue)
            return nn.functional.max_pool2d(x, 2);
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        using var positions = Positions(x);
        return x.view(n, c, h * w).gather(2, positions).view(n, c, h / 2, w / 2);
    }

    /// <summary>
    /// Each window's argmax as a flat position in its map, [N, C, ⌊H/2⌋·⌊W/2⌋] (what max_pool2d_with_indices returns,
    /// flattened), for a contiguous float32 or float64 CPU <paramref name="x"/> [N, C, H, W] with H, W ≥ 2.
    /// </summary>
    internal static Tensor Positions(Tensor x)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var positions = empty([n, c, h / 2 * (w / 2)], ScalarType.Int64);
        using var noGrad = no_grad();
        using var data = x.detach();
        var planes = n * c;
        // Threads as libtorch's intra-op setting allows, each taking ≥ 64 Ki input values (a thread start costs microseconds).
        var threads = (int)Math.Clamp(Math.Min(get_num_threads(), planes * h * w / 65536), 1, planes);
        if (x.dtype == ScalarType.Float32) Split<float>(data, positions, planes, h, w, threads);
        else Split<double>(data, positions, planes, h, w, threads);
        return positions;
    }

    private static void Split<T>(Tensor x, Tensor positions, long planes, int h, int w, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (threads == 1)
        {
            Planes<T>(MemoryMarshal.Cast<byte, T>(x.bytes), MemoryMarshal.Cast<byte, long>(positions.bytes), 0, planes, h, w);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            Planes<T>(MemoryMarshal.Cast<byte, T>(x.bytes), MemoryMarshal.Cast<byte, long>(positions.bytes),
                planes * part / threads, planes * (part + 1) / threads, h, w));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Planes<T>(ReadOnlySpan<T> x, Span<long> indices, long from, long to, int h, int w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (oh, ow) = (h / 2, w / 2);
        for (var p = from; p < to; p++)
        {
            var plane = x.Slice((int)(p * h * w), h * w);
            var outPlane = indices.Slice((int)(p * oh * ow), oh * ow);
            for (var i = 0; i < oh; i++)
            {
                var top = plane.Slice(2 * i * w, w);
                var bottom = plane.Slice((2 * i + 1) * w, w);
                var row = outPlane.Slice(i * ow, ow);
                if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && ow >= 4)
                {
                    Row(MemoryMarshal.Cast<T, float>(top), MemoryMarshal.Cast<T, float>(bottom), row, 2 * i * w, w);
                    continue;
                }
                for (var j = 0; j < ow; j++) row[j] = Window(top, bottom, 2 * j, 2 * i * w, w);
            }
        }
    }

    // One window in libtorch's scan order, (top, left), (top, right), (bottom, left), (bottom, right): a value replaces
    // the running maximum when it is greater or NaN. Written with selects, not branches: on real activations the
    // comparisons are coin flips, and mispredicted branches are what makes a scalar max-pool slow.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Window<T>(ReadOnlySpan<T> top, ReadOnlySpan<T> bottom, int at, long rowBase, int w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var best = top[at];
        var offset = 0;
        var v = top[at + 1];
        var take = v > best || T.IsNaN(v);
        best = take ? v : best;
        offset = take ? 1 : offset;
        v = bottom[at];
        take = v > best || T.IsNaN(v);
        best = take ? v : best;
        offset = take ? w : offset;
        v = bottom[at + 1];
        take = v > best || T.IsNaN(v);
        offset = take ? w + 1 : offset;
        return rowBase + at + offset;
    }

    // A row of ≥ 4 windows, eight (or four) at a time; the last chunk is aligned to the row's end and may overlap the one
    // before it (it writes the same indices again), so no window takes a scalar tail.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<long> row, long rowBase, int w)
    {
        var ow = row.Length;
        if (ow >= 8)
        {
            for (var j = 0; ; j += 8)
            {
                var at = Math.Min(j, ow - 8);
                Chunk8(top, bottom, row, rowBase, w, at);
                if (at == ow - 8) break;
            }
        }
        else
        {
            Chunk4(top, bottom, row, rowBase, w, 0);
            Chunk4(top, bottom, row, rowBase, w, ow - 4);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Chunk8(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<long> row, long rowBase, int w, int j)
    {
        var evens = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var at = 2 * j;
        var (t0, t1) = (Vector256.Shuffle(Vector256.Create(top.Slice(at, 8)), evens), Vector256.Shuffle(Vector256.Create(top.Slice(at + 8, 8)), evens));
        var (b0, b1) = (Vector256.Shuffle(Vector256.Create(bottom.Slice(at, 8)), evens), Vector256.Shuffle(Vector256.Create(bottom.Slice(at + 8, 8)), evens));
        // Each shuffled half is [its evens | its odds]: the left columns are the lower halves, the right the upper.
        var offset = Select(
            Vector256.Create(t0.GetLower(), t1.GetLower()), Vector256.Create(t0.GetUpper(), t1.GetUpper()),
            Vector256.Create(b0.GetLower(), b1.GetLower()), Vector256.Create(b0.GetUpper(), b1.GetUpper()), w);
        var (low, high) = Vector256.Widen(offset + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14));
        var origin = Vector256.Create(rowBase + at);
        (low + origin).CopyTo(row.Slice(j, 4));
        (high + origin).CopyTo(row.Slice(j + 4, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Chunk4(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<long> row, long rowBase, int w, int j)
    {
        var evens = Vector128.Create(0, 2, 1, 3);
        var at = 2 * j;
        var (t0, t1) = (Vector128.Shuffle(Vector128.Create(top.Slice(at, 4)), evens), Vector128.Shuffle(Vector128.Create(top.Slice(at + 4, 4)), evens));
        var (b0, b1) = (Vector128.Shuffle(Vector128.Create(bottom.Slice(at, 4)), evens), Vector128.Shuffle(Vector128.Create(bottom.Slice(at + 4, 4)), evens));
        var offset = Select(
            Vector128.Create(t0.GetLower(), t1.GetLower()), Vector128.Create(t0.GetUpper(), t1.GetUpper()),
            Vector128.Create(b0.GetLower(), b1.GetLower()), Vector128.Create(b0.GetUpper(), b1.GetUpper()), w);
        var (low, high) = Vector128.Widen(offset + Vector128.Create(0, 2, 4, 6));
        var origin = Vector128.Create(rowBase + at);
        (low + origin).CopyTo(row.Slice(j, 2));
        (high + origin).CopyTo(row.Slice(j + 2, 2));
    }

    // Window() on every lane: the offset of each window's argmax from its top-left corner (0, 1, w or w + 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Select(Vector256<float> topLeft, Vector256<float> topRight, Vector256<float> bottomLeft, Vector256<float> bottomRight, int w)
    {
        var best = topLeft;
        var take = Vector256.GreaterThan(topRight, best) | ~Vector256.Equals(topRight, topRight);
        best = Vector256.ConditionalSelect(take, topRight, best);
        var offset = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(1), Vector256<int>.Zero);
        take = Vector256.GreaterThan(bottomLeft, best) | ~Vector256.Equals(bottomLeft, bottomLeft);
        best = Vector256.ConditionalSelect(take, bottomLeft, best);
        offset = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(w), offset);
        take = Vector256.GreaterThan(bottomRight, best) | ~Vector256.Equals(bottomRight, bottomRight);
        return Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(w + 1), offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Select(Vector128<float> topLeft, Vector128<float> topRight, Vector128<float> bottomLeft, Vector128<float> bottomRight, int w)
    {
        var best = topLeft;
        var take = Vector128.GreaterThan(topRight, best) | ~Vector128.Equals(topRight, topRight);
        best = Vector128.ConditionalSelect(take, topRight, best);
        var offset = Vector128.ConditionalSelect(take.AsInt32(), Vector128.Create(1), Vector128<int>.Zero);
        take = Vector128.GreaterThan(bottomLeft, best) | ~Vector128.Equals(bottomLeft, bottomLeft);
        best = Vector128.ConditionalSelect(take, bottomLeft, best);
        offset = Vector128.ConditionalSelect(take.AsInt32(), Vector128.Create(w), offset);
        take = Vector128.GreaterThan(bottomRight, best) | ~Vector128.Equals(bottomRight, bottomRight);
        return Vector128.ConditionalSelect(take.AsInt32(), Vector128.Create(w + 1), offset);
    }
}
