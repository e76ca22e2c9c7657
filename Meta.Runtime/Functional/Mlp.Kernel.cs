using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Meta.Algorithms;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Functional;

// MAML's whole meta-step for the MLP on the CPU in managed code: the maths of Mlp.Analytic.cs (same notation), done task
// by task on row-major per-task matrices with SIMD loops instead of one libtorch call per batched operation. For the
// sinusoid network an iteration is ~10 MFLOP in matrices of 10 × 40 × 40, where a libtorch call costs more in dispatch
// and allocation than its arithmetic; here an iteration creates three tensors (the results), whatever S is. A task's
// working set (its S + 1 weight vectors and every pass's activations) stays in the cache, and tasks are independent, so
// the loop over tasks is also the natural unit for task-parallel threads.
public sealed partial class Mlp : IMamlKernel
{
    /// <inheritdoc />
    public MetaStepResult? MamlMetaStep(Tensor theta, Episode episode, ITaskLoss loss, int innerSteps, double innerLr, bool firstOrder, Tensor? taskWeights,
        TaskSplitter? splitter = null)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(episode);
        ArgumentNullException.ThrowIfNull(loss);
        if (!SupportsAnalytic(loss) || innerSteps < 1) return null;
        var crossEntropy = ReferenceEquals(loss, TaskLoss.CrossEntropyLoss);
        var dtype = theta.dtype;
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64) || theta.dim() != 1 || theta.Dims()[0] != Layout.Count) return null;
        Tensor[] all = taskWeights is null
            ? [theta, episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY]
            : [theta, episode.SupportX, episode.SupportY, episode.QueryX, episode.QueryY, taskWeights];
        if (all.Any(t => t.device_type != TorchSharp.DeviceType.CPU)) return null;
        if (episode.SupportX.dtype != dtype || taskWeights is not null && (taskWeights.dtype != dtype || taskWeights.dim() != 1)) return null;
        // The sizes the episode checked when it was made (no libtorch calls); the element counts confirm them, since the
        // kernel indexes the tensors' memory by these sizes.
        var (sx, sy, qx, qy) = (episode.SupportXDims, episode.SupportYDims, episode.QueryXDims, episode.QueryYDims);
        var (tasks, supportPoints, queryPoints) = (episode.Tasks, sx[1], qx[1]);
        if (Features(sx) != _widths[0] || Features(qx) != _widths[0]) return null;
        long[] supportTarget = crossEntropy ? [tasks, supportPoints] : [tasks, supportPoints, Outputs];
        long[] queryTarget = crossEntropy ? [tasks, queryPoints] : [tasks, queryPoints, Outputs];
        if (!sy.AsSpan().SequenceEqual(supportTarget) || !qy.AsSpan().SequenceEqual(queryTarget)) return null;
        if (crossEntropy ? episode.SupportY.dtype != ScalarType.Int64 : episode.SupportY.dtype != dtype) return null;
        if (tasks * Math.Max(supportPoints, queryPoints) * _widths.Max() > int.MaxValue / 4) return null;
        if (episode.SupportX.numel() != Count(sx) || episode.SupportY.numel() != Count(sy) || episode.QueryX.numel() != Count(qx)
            || episode.QueryY.numel() != Count(qy))
            throw new ArgumentException("invalid episode: a tensor was reshaped in place after the episode was made; make a new episode instead");

        var io = new KernelTensors(Dense(theta), Dense(episode.SupportX), Dense(episode.SupportY), Dense(episode.QueryX), Dense(episode.QueryY),
            taskWeights is null ? null : Dense(taskWeights), dtype);
        var shape = new KernelShape(_widths, Activation, crossEntropy, (int)tasks, (int)supportPoints, (int)queryPoints, innerSteps, firstOrder, _slotOffsets);
        if (dtype == ScalarType.Float32) MlpKernel<float>.MetaStep(shape, (float)innerLr, io, splitter);
        else MlpKernel<double>.MetaStep(shape, innerLr, io, splitter);
        return new MetaStepResult(io.Gradient!, io.MetaLoss!, io.TaskLosses!);

        static long Features(long[] dims) => Count(dims.AsSpan(2));
        static long Count(ReadOnlySpan<long> dims)
        {
            var count = 1L;
            foreach (var d in dims) count *= d;
            return count;
        }
        static Tensor Dense(Tensor t) => t.is_contiguous() ? t : t.contiguous();
    }

    private int[]? _slotOffsetsCache;

    // The flat offsets of W_l and b_l: [2l] and [2l + 1].
    private int[] _slotOffsets => _slotOffsetsCache ??= [.. Layout.Slots.Select(slot => (int)slot.Offset)];
}

/// <summary>What one kernel call computes: the network's shape and the meta-step's settings.</summary>
internal sealed record KernelShape(int[] Widths, Activation Activation, bool CrossEntropy, int Tasks, int SupportPoints, int QueryPoints,
    int Steps, bool FirstOrder, int[] Offsets)
{
    public int Layers => Widths.Length - 1;

    public int Parameters => Offsets[^1] + Widths[^1];
}

/// <summary>
/// The kernel's inputs and outputs as contiguous CPU tensors; each thread of a split step takes its own spans of them
/// (spans cannot cross into a closure, tensors can). The outputs exist once <see cref="Allocate"/> has run: a split step
/// allocates them on the calling thread while the other threads already work on their tasks.
/// </summary>
internal sealed record KernelTensors(Tensor Theta, Tensor SupportX, Tensor SupportY, Tensor QueryX, Tensor QueryY, Tensor? TaskWeights,
    ScalarType DType)
{
    /// <summary>The meta-gradient [P].</summary>
    public Tensor? Gradient { get; private set; }

    /// <summary>The task losses [T].</summary>
    public Tensor? TaskLosses { get; private set; }

    /// <summary>The meta-loss (a scalar).</summary>
    public Tensor? MetaLoss { get; private set; }

    /// <summary>Creates the outputs, in the calling thread's dispose scope.</summary>
    public void Allocate(int parameters, int tasks)
    {
        Gradient = empty(parameters, DType);
        TaskLosses = empty(tasks, DType);
        MetaLoss = empty([], DType);
    }

    public static Span<TValue> Span<TValue>(Tensor? t) where TValue : unmanaged => t is null ? default : MemoryMarshal.Cast<byte, TValue>(t.bytes);
}

/// <summary>The managed meta-step in element type <typeparamref name="T"/> (float or double).</summary>
/// <remarks>
/// The task loop and the routines it calls (all but the two inlined helpers) are compiled fully optimised at their first call
/// (<see cref="MethodImplOptions.AggressiveOptimization"/>). Under tiered compilation alone they ran as tier-0 code for
/// about the first 1,000 iterations of a run (~800 it/s against ~5,000 once promoted): the runtime promotes a method only
/// after 100 ms without new tier-0 compilation, and a starting host keeps compiling. The attribute gives up dynamic PGO
/// for these methods; their steady-state rate did not move beyond this VM's noise.
/// </remarks>
internal static class MlpKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Where a split step's back counter sits in its claims array: a cache line (16 ints) after the admission count.
    private const int BackCounter = 16;

    // Where a split step counts its finished parts, and marks a failed one (a cache line each).
    private const int Finished = 2 * BackCounter, Failed = 3 * BackCounter;

    [ThreadStatic] private static T[]? s_scratch;
    [ThreadStatic] private static T[]? s_taskGradients;
    [ThreadStatic] private static double[]? s_weightedLosses;
    [ThreadStatic] private static T[]? s_taskLosses;
    [ThreadStatic] private static T[]? s_frontGradient;

    /// <summary>
    /// The meta-step on <paramref name="io"/>, its tasks spread over <paramref name="splitter"/>'s threads when it has more
    /// than one. The first worker takes tasks from the front (0, 1, 2, …) and adds each v_{0,t} into a gradient of its own,
    /// exactly as the one-thread loop adds them; the calling thread and any further workers take tasks from the back
    /// (T − 1, T − 2, …) and leave each v_{0,t} and weighted loss in its own row. A shared admission count hands out
    /// exactly T tasks, so the two ends meet wherever the threads' speeds put them (a slower thread takes fewer), and the
    /// front's tasks are always 0 … a − 1. Once every thread is done, the calling thread continues the front's sum with
    /// rows a … T − 1 in task order: the additions of the one-thread loop, so the result is the one-thread result bit for
    /// bit whatever the threads did.
    /// </summary>
    /// <remarks>
    /// The roles are chosen for what stays serial. The sum runs on the thread that wrote the rows (with two threads, all of
    /// them), so only the front's one gradient vector crosses between cores; it runs on the calling thread, which continues
    /// with the gradient in its own cache (the optimiser reads it next) and without a hand-off back from a worker; the
    /// calling thread, which first does the work it was given to do alongside and allocates the outputs
    /// (<see cref="KernelTensors.Allocate"/>), takes the fewer tasks, so fewer rows to sum. Fills <paramref name="io"/>'s
    /// outputs.
    /// </remarks>
    public static void MetaStep(KernelShape shape, T lr, KernelTensors io, TaskSplitter? splitter)
    {
        var (tasks, p) = (shape.Tasks, shape.Parameters);
        if (splitter is not { Threads: > 1 } || tasks < 2)
        {
            io.Allocate(p, tasks);
            var loss = Tasks(shape, lr, io, null, true, KernelTensors.Span<T>(io.Gradient), default, default, KernelTensors.Span<T>(io.TaskLosses)).Loss;
            KernelTensors.Span<T>(io.MetaLoss)[0] = T.CreateTruncating(loss / tasks);
            return;
        }
        var pp = Aligned(p);                                // each row on whole cache lines, as the scratch's slots
        if (s_taskGradients is null || s_taskGradients.Length < tasks * pp) s_taskGradients = new T[tasks * pp];
        if (s_weightedLosses is null || s_weightedLosses.Length < tasks) s_weightedLosses = new double[tasks];
        if (s_taskLosses is null || s_taskLosses.Length < tasks) s_taskLosses = new T[tasks];
        if (s_frontGradient is null || s_frontGradient.Length < p) s_frontGradient = new T[p];
        var (rows, losses, taskLosses, frontGradient) = (s_taskGradients, s_weightedLosses, s_taskLosses, s_frontGradient);
        var parts = Math.Min(splitter.Threads, tasks);
        // [0]: tasks not yet handed out; [BackCounter]: tasks the back has taken; [Finished]: parts done (finished or
        // failed); [Failed]: 1 once a part has thrown. Each on its own cache line, so they do not contend.
        var claims = new int[4 * BackCounter];
        claims[0] = tasks;
        var front = (Loss: 0.0, Taken: 0);
        // The outputs are created while the workers already take tasks, first thing in the calling thread's share.
        var alongside = splitter.Alongside;
        splitter.Alongside = () =>
        {
            io.Allocate(p, tasks);
            alongside?.Invoke();
        };
        splitter.Run(parts, part =>
        {
            try
            {
                var share = Tasks(shape, lr, io, claims, part == 1, frontGradient.AsSpan(0, p), rows, losses, taskLosses);
                if (part == 1) front = share;
            }
            catch
            {
                Volatile.Write(ref claims[Failed], 1);
                throw;
            }
            finally
            {
                Interlocked.Increment(ref claims[Finished]);     // a full fence: the front's share is visible before the count
            }
            if (part != 0) return;
            var spinner = new SpinWait();
            while (Volatile.Read(ref claims[Finished]) != parts) spinner.SpinOnce(sleep1Threshold: -1);
            if (Volatile.Read(ref claims[Failed]) != 0) return;      // the splitter rethrows the failure
            var gradient = KernelTensors.Span<T>(io.Gradient);
            frontGradient.AsSpan(0, p).CopyTo(gradient);
            var sum = front.Loss;
            for (var t = front.Taken; t < tasks; t++)
            {
                AddScaled(gradient, gradient, rows.AsSpan(t * pp, p), T.One);
                sum += losses[t];
            }
            taskLosses.AsSpan(0, tasks).CopyTo(KernelTensors.Span<T>(io.TaskLosses));
            KernelTensors.Span<T>(io.MetaLoss)[0] = T.CreateTruncating(sum / tasks);
        });
    }

    // The one-thread loop (claims null) or one thread's share of a split step: the front sums into gradient, the back
    // leaves rows.
    private static (double Loss, int Taken) Tasks(KernelShape shape, T lr, KernelTensors io, int[]? claims, bool front, Span<T> gradient, Span<T> rows,
        Span<double> losses, Span<T> taskLosses)
    {
        var ce = shape.CrossEntropy;
        var loss = MetaStep(shape, lr, KernelTensors.Span<T>(io.Theta), KernelTensors.Span<T>(io.SupportX), KernelTensors.Span<T>(io.QueryX),
            ce ? default : KernelTensors.Span<T>(io.SupportY), ce ? default : KernelTensors.Span<T>(io.QueryY),
            ce ? KernelTensors.Span<long>(io.SupportY) : default, ce ? KernelTensors.Span<long>(io.QueryY) : default,
            KernelTensors.Span<T>(io.TaskWeights), front ? gradient : default, taskLosses,
            claims, front, rows, losses, out var taken);
        return (loss, taken);
    }

    // Elements in whole 64-byte lines: n rounded up to a multiple of 64 / sizeof(T).
    private static int Aligned(int n)
    {
        var line = 64 / Unsafe.SizeOf<T>();
        return (n + line - 1) / line * line;
    }

    [ThreadStatic] private static int s_scratchStart;

    // This thread's scratch of at least n elements, starting on a 64-byte boundary: a pinned array (its address does not
    // move) and the offset into it where the boundary falls.
    private static Span<T> Scratch(int n)
    {
        if (s_scratch is null || s_scratch.Length - s_scratchStart < n)
        {
            s_scratch = GC.AllocateArray<T>(n + 64 / Unsafe.SizeOf<T>(), pinned: true);
            var address = (nuint)Marshal.UnsafeAddrOfPinnedArrayElement(s_scratch, 0);
            s_scratchStart = (int)((64 - address % 64) % 64) / Unsafe.SizeOf<T>();
        }
        return s_scratch.AsSpan(s_scratchStart);
    }

    // Where one pass's cached quantities live in the scratch buffer (offsets from the pass's base; -1 where absent).
    private sealed class PassPlan
    {
        public readonly int[] H, Z, D1, D2, Delta, Back, WT;
        public readonly int Probabilities, Size, Points;

        public PassPlan(KernelShape shape, int points)
        {
            var (w, layers) = (shape.Widths, shape.Layers);
            Points = points;
            (H, Z, D1, D2, Delta, Back, WT) = (Fill(layers), Fill(layers), Fill(layers), Fill(layers), Fill(layers), Fill(layers), Fill(layers));
            var size = 0;
            int Take(int n) { var at = size; size += Aligned(n); return at; }
            for (var l = 0; l < layers; l++)
            {
                if (l > 0) (H[l], WT[l]) = (Take(points * w[l]), Take(w[l] * w[l + 1]));
                (Z[l], Delta[l]) = (Take(points * w[l + 1]), Take(points * w[l + 1]));
                if (l < layers - 1)
                {
                    (D1[l], Back[l]) = (Take(points * w[l + 1]), Take(points * w[l + 1]));
                    if (shape.Activation != Activation.Relu) D2[l] = Take(points * w[l + 1]);
                }
            }
            Probabilities = shape.CrossEntropy ? Take(points * w[^1]) : -1;
            Size = size;
        }

        private static int[] Fill(int n) => Enumerable.Repeat(-1, n).ToArray();
    }

    /// <summary>
    /// Writes Σ_t v_{0,t} to <paramref name="gradient"/> and L_t to <paramref name="taskLosses"/>; returns the meta-loss.
    /// Regression targets come in <paramref name="supportY"/>/<paramref name="queryY"/>, class labels in the label spans.
    /// </summary>
    public static double MetaStep(KernelShape shape, T lr, ReadOnlySpan<T> theta, ReadOnlySpan<T> supportX, ReadOnlySpan<T> queryX,
        ReadOnlySpan<T> supportY, ReadOnlySpan<T> queryY, ReadOnlySpan<long> supportLabels, ReadOnlySpan<long> queryLabels,
        ReadOnlySpan<T> taskWeights, Span<T> gradient, Span<T> taskLosses) =>
        MetaStep(shape, lr, theta, supportX, queryX, supportY, queryY, supportLabels, queryLabels, taskWeights, gradient, taskLosses,
            null, true, default, default, out _) / shape.Tasks;

    /// <summary>
    /// The meta-step's tasks: all of them in order with <paramref name="claims"/> null; otherwise the tasks this thread is
    /// admitted to by <paramref name="claims"/>[0], from the front (0, 1, …) when <paramref name="front"/> or else from the
    /// back (T − 1, T − 2, …, counted in <paramref name="claims"/>[BackCounter]). The front (and the one-thread
    /// loop) makes <paramref name="gradient"/> Σ_t v_{0,t} over its tasks in order and returns Σ_t w_t·L_t; the back leaves
    /// v_{0,t} in row t of <paramref name="rows"/> and w_t·L_t in <paramref name="losses"/>[t] and returns 0.
    /// <paramref name="taken"/> is the number of tasks this thread did.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double MetaStep(KernelShape shape, T lr, ReadOnlySpan<T> theta, ReadOnlySpan<T> supportX, ReadOnlySpan<T> queryX,
        ReadOnlySpan<T> supportY, ReadOnlySpan<T> queryY, ReadOnlySpan<long> supportLabels, ReadOnlySpan<long> queryLabels,
        ReadOnlySpan<T> taskWeights, Span<T> gradient, Span<T> taskLosses, int[]? claims, bool front, Span<T> rows, Span<double> losses, out int taken)
    {
        var (w, layers, p, steps) = (shape.Widths, shape.Layers, shape.Parameters, shape.Steps);
        var support = new PassPlan(shape, shape.SupportPoints);
        var query = new PassPlan(shape, shape.QueryPoints);
        var maxWidth = w.Max();
        var maxProduct = Enumerable.Range(0, layers).Max(l => w[l] * w[l + 1]);
        var supportPasses = shape.FirstOrder ? 1 : steps;
        // Scratch: φ_1 … φ_S, the inner gradient, v and Hv, the passes, and the R-pass's temporaries, each starting on a
        // 64-byte boundary (Aligned), so that no vector load of a task's hot loops straddles two cache lines.
        var pp = Aligned(p);
        var (phiAt, gradAt, vAt, hvAt) = (0, steps * pp, (steps + 1) * pp, (steps + 2) * pp);
        var passAt = (steps + 3) * pp;
        var queryAt = passAt + supportPasses * support.Size;
        var rAt = queryAt + query.Size;
        var rz = new int[layers];
        var rh = new int[layers];
        var rSize = 0;
        for (var l = 0; l < layers; l++)
        {
            rz[l] = rAt + rSize;
            rSize += Aligned(shape.SupportPoints * w[l + 1]);
            rh[l] = rAt + rSize;
            rSize += Aligned(shape.SupportPoints * w[l]);
        }
        var block = Aligned(shape.SupportPoints * maxWidth);
        var (rDeltaAt, rNextAt, dwtAt) = (rAt + rSize, rAt + rSize + block, rAt + rSize + 2 * block);
        var total = dwtAt + maxProduct;
        var scratch = Scratch(total);

        var back = claims is not null && !front;
        if (!back) gradient.Clear();
        var (inputs, outputs) = (w[0], w[^1]);
        var metaLoss = 0.0;
        for (taken = 0; claims is null ? taken < shape.Tasks : Interlocked.Decrement(ref claims[0]) >= 0; taken++)
        {
            var t = back ? shape.Tasks - Interlocked.Increment(ref claims![BackCounter]) : taken;
            var sx = supportX.Slice(t * shape.SupportPoints * inputs, shape.SupportPoints * inputs);
            var qx = queryX.Slice(t * shape.QueryPoints * inputs, shape.QueryPoints * inputs);
            ReadOnlySpan<T> current = theta;
            for (var s = 0; s < steps; s++)
            {
                var pass = scratch.Slice(passAt + (shape.FirstOrder ? 0 : s) * support.Size, support.Size);
                Forward(shape, support, pass, current, sx);
                Residual(shape, support, pass, T.One, t, supportY, supportLabels);
                var grad = scratch.Slice(gradAt, p);
                Backward(shape, support, pass, current, sx, grad);
                var stepped = scratch.Slice(phiAt + s * pp, p);
                AddScaled(stepped, current, grad, -lr);
                current = stepped;
            }
            var queryPass = scratch.Slice(queryAt, query.Size);
            Forward(shape, query, queryPass, current, qx);
            var weight = taskWeights.IsEmpty ? 1.0 : double.CreateTruncating(taskWeights[t]);
            var scale = T.CreateTruncating(weight / shape.Tasks);
            var taskLoss = Residual(shape, query, queryPass, scale, t, queryY, queryLabels);
            taskLosses[t] = T.CreateTruncating(taskLoss);
            if (back) losses[t] = taskLoss * weight;
            else metaLoss += taskLoss * weight;
            var v = scratch.Slice(vAt, p);
            Backward(shape, query, queryPass, current, qx, v);
            if (!shape.FirstOrder)
            {
                var hv = scratch.Slice(hvAt, p);
                for (var s = steps - 1; s >= 0; s--)
                {
                    ReadOnlySpan<T> phi = s == 0 ? theta : scratch.Slice(phiAt + (s - 1) * pp, p);
                    var pass = scratch.Slice(passAt + s * support.Size, support.Size);
                    HessianVectorProduct(shape, support, pass, phi, sx, v, hv, scratch, rz, rh, rDeltaAt, rNextAt, dwtAt);
                    AddScaled(v, v, hv, -lr);
                }
            }
            if (back) v.CopyTo(rows.Slice(t * pp, p));
            else AddScaled(gradient, gradient, v, T.One);
        }
        return metaLoss;
    }

    // z_l = h_l·W_l + b_l, h_{l+1} = σ(z_l), σ'(z_l) (and σ''(z_l) when it is not zero).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward(KernelShape shape, PassPlan plan, Span<T> pass, ReadOnlySpan<T> weights, ReadOnlySpan<T> x)
    {
        var (w, n) = (shape.Widths, plan.Points);
        for (var l = 0; l < shape.Layers; l++)
        {
            ReadOnlySpan<T> h = l == 0 ? x : pass.Slice(plan.H[l], n * w[l]);
            var z = pass.Slice(plan.Z[l], n * w[l + 1]);
            FillRows(z, weights.Slice(shape.Offsets[2 * l + 1], w[l + 1]), n);
            Gemm(h, w[l], 1, weights.Slice(shape.Offsets[2 * l], w[l] * w[l + 1]), z, n, w[l], w[l + 1], accumulate: true);
            if (l == shape.Layers - 1) break;
            Activate(shape.Activation, z, pass.Slice(plan.H[l + 1], z.Length), pass.Slice(plan.D1[l], z.Length),
                plan.D2[l] < 0 ? default : pass.Slice(plan.D2[l], z.Length));
        }
    }

    // The task's mean loss (returned, in double) and δ_{L−1} = scale × ∂L/∂y, written to Delta[L−1].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Residual(KernelShape shape, PassPlan plan, Span<T> pass, T scale, int task, ReadOnlySpan<T> targets, ReadOnlySpan<long> labels)
    {
        var (n, d) = (plan.Points, shape.Widths[^1]);
        var y = pass.Slice(plan.Z[^1], n * d);
        var delta = pass.Slice(plan.Delta[^1], n * d);
        var loss = 0.0;
        if (!shape.CrossEntropy)
        {
            var target = targets.Slice(task * n * d, n * d);
            var c = scale * T.CreateTruncating(2.0 / (n * d));
            for (var i = 0; i < y.Length; i++)
            {
                var r = y[i] - target[i];
                loss += double.CreateTruncating(r * r);
                delta[i] = r * c;
            }
            return loss / (n * d);
        }
        var probabilities = pass.Slice(plan.Probabilities, n * d);
        var label = labels.Slice(task * n, n);
        var cs = scale * T.CreateTruncating(1.0 / n);
        for (var i = 0; i < n; i++)
        {
            var row = y.Slice(i * d, d);
            var max = row[0];
            for (var j = 1; j < d; j++) max = T.Max(max, row[j]);
            var sum = T.Zero;
            for (var j = 0; j < d; j++) sum += T.Exp(row[j] - max);
            var logSum = max + T.Log(sum);
            var k = label[i];
            if (k < 0 || k >= d) throw new ArgumentException($"class label {k} is outside 0 … {d - 1} (the network has {d} outputs)");
            for (var j = 0; j < d; j++)
            {
                var logP = row[j] - logSum;
                var prob = T.Exp(logP);
                probabilities[i * d + j] = prob;
                if (j == k) loss -= double.CreateTruncating(logP);
                delta[i * d + j] = (j == k ? prob - T.One : prob) * cs;
            }
        }
        return loss / n;
    }

    // From δ_{L−1} in the pass: ∇W_l = h_lᵀ·δ_l, ∇b_l = Σ_n δ_l, g_{l−1} = δ_l·W_lᵀ, δ_{l−1} = g_{l−1} ⊙ σ'(z_{l−1}).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward(KernelShape shape, PassPlan plan, Span<T> pass, ReadOnlySpan<T> weights, ReadOnlySpan<T> x, Span<T> gradient)
    {
        var (w, n) = (shape.Widths, plan.Points);
        for (var l = shape.Layers - 1; l >= 0; l--)
        {
            ReadOnlySpan<T> h = l == 0 ? x : pass.Slice(plan.H[l], n * w[l]);
            var delta = pass.Slice(plan.Delta[l], n * w[l + 1]);
            Gemm(h, 1, w[l], delta, gradient.Slice(shape.Offsets[2 * l], w[l] * w[l + 1]), w[l], n, w[l + 1], accumulate: false);
            ColumnSums(delta, gradient.Slice(shape.Offsets[2 * l + 1], w[l + 1]), n);
            if (l == 0) break;
            var wt = pass.Slice(plan.WT[l], w[l] * w[l + 1]);
            Transpose(weights.Slice(shape.Offsets[2 * l], w[l] * w[l + 1]), wt, w[l], w[l + 1]);
            var back = pass.Slice(plan.Back[l - 1], n * w[l]);
            Gemm(delta, w[l + 1], 1, wt, back, n, w[l + 1], w[l], accumulate: false);
            Multiply(pass.Slice(plan.Delta[l - 1], n * w[l]), back, pass.Slice(plan.D1[l - 1], n * w[l]));
        }
    }

    // H v at the pass's point by the R-operator (Mlp.Analytic.cs), into hv.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HessianVectorProduct(KernelShape shape, PassPlan plan, Span<T> pass, ReadOnlySpan<T> weights, ReadOnlySpan<T> x,
        ReadOnlySpan<T> v, Span<T> hv, Span<T> scratch, int[] rzAt, int[] rhAt, int rDeltaAt, int rNextAt, int dwtAt)
    {
        var (w, n, layers, o) = (shape.Widths, plan.Points, shape.Layers, shape.Offsets);
        for (var l = 0; l < layers; l++)
        {
            ReadOnlySpan<T> h = l == 0 ? x : pass.Slice(plan.H[l], n * w[l]);
            var rz = scratch.Slice(rzAt[l], n * w[l + 1]);
            FillRows(rz, v.Slice(o[2 * l + 1], w[l + 1]), n);
            Gemm(h, w[l], 1, v.Slice(o[2 * l], w[l] * w[l + 1]), rz, n, w[l], w[l + 1], accumulate: true);
            if (l > 0) Gemm(scratch.Slice(rhAt[l], n * w[l]), w[l], 1, weights.Slice(o[2 * l], w[l] * w[l + 1]), rz, n, w[l], w[l + 1], accumulate: true);
            if (l < layers - 1) Multiply(scratch.Slice(rhAt[l + 1], n * w[l + 1]), rz, pass.Slice(plan.D1[l], n * w[l + 1]));
        }

        var d = w[^1];
        var ry = scratch.Slice(rzAt[layers - 1], n * d);
        var rDelta = scratch.Slice(rDeltaAt, n * d);
        if (shape.CrossEntropy)
        {
            var c = T.CreateTruncating(1.0 / n);
            var probabilities = pass.Slice(plan.Probabilities, n * d);
            for (var i = 0; i < n; i++)
            {
                var sum = T.Zero;
                for (var j = 0; j < d; j++) sum += probabilities[i * d + j] * ry[i * d + j];
                for (var j = 0; j < d; j++)
                {
                    var pj = probabilities[i * d + j];
                    rDelta[i * d + j] = (pj * ry[i * d + j] - pj * sum) * c;
                }
            }
        }
        else
        {
            var c = T.CreateTruncating(2.0 / (n * d));
            for (var i = 0; i < ry.Length; i++) rDelta[i] = ry[i] * c;
        }

        var toNext = true;                                  // R δ alternates between two buffers
        for (var l = layers - 1; l >= 0; l--)
        {
            ReadOnlySpan<T> h = l == 0 ? x : pass.Slice(plan.H[l], n * w[l]);
            var hvW = hv.Slice(o[2 * l], w[l] * w[l + 1]);
            Gemm(h, 1, w[l], rDelta, hvW, w[l], n, w[l + 1], accumulate: false);
            if (l > 0) Gemm(scratch.Slice(rhAt[l], n * w[l]), 1, w[l], pass.Slice(plan.Delta[l], n * w[l + 1]), hvW, w[l], n, w[l + 1], accumulate: true);
            ColumnSums(rDelta, hv.Slice(o[2 * l + 1], w[l + 1]), n);
            if (l == 0) break;
            var next = scratch.Slice(toNext ? rNextAt : rDeltaAt, n * w[l]);
            toNext = !toNext;
            Gemm(rDelta, w[l + 1], 1, pass.Slice(plan.WT[l], w[l] * w[l + 1]), next, n, w[l + 1], w[l], accumulate: false);
            var dwt = scratch.Slice(dwtAt, w[l] * w[l + 1]);
            Transpose(v.Slice(o[2 * l], w[l] * w[l + 1]), dwt, w[l], w[l + 1]);
            Gemm(pass.Slice(plan.Delta[l], n * w[l + 1]), w[l + 1], 1, dwt, next, n, w[l + 1], w[l], accumulate: true);
            Multiply(next, next, pass.Slice(plan.D1[l - 1], n * w[l]));
            if (plan.D2[l - 1] >= 0)
            {
                var back = pass.Slice(plan.Back[l - 1], n * w[l]);
                var second = pass.Slice(plan.D2[l - 1], n * w[l]);
                var rzPrev = scratch.Slice(rzAt[l - 1], n * w[l]);
                for (var i = 0; i < next.Length; i++) next[i] += back[i] * second[i] * rzPrev[i];
            }
            rDelta = next;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Activate(Activation activation, ReadOnlySpan<T> z, Span<T> h, Span<T> d1, Span<T> d2)
    {
        var two = T.CreateTruncating(2.0);
        switch (activation)
        {
            case Activation.Relu:
            {
                var i = 0;
                if (Vector256.IsHardwareAccelerated && h.Length >= z.Length && d1.Length >= z.Length)
                {
                    ref var rz = ref MemoryMarshal.GetReference(z);
                    ref var rh = ref MemoryMarshal.GetReference(h);
                    ref var rd = ref MemoryMarshal.GetReference(d1);
                    var one = Vector256.Create(T.One);
                    for (; i + Vector256<T>.Count <= z.Length; i += Vector256<T>.Count)
                    {
                        var v = Vector256.LoadUnsafe(ref rz, (nuint)i);
                        var positive = Vector256.GreaterThan(v, Vector256<T>.Zero);
                        (v & (positive | ~Vector256.Equals(v, v))).StoreUnsafe(ref rh, (nuint)i);   // NaN stays NaN, as in libtorch
                        (one & positive).StoreUnsafe(ref rd, (nuint)i);
                    }
                }
                for (; i < z.Length; i++)
                {
                    var positive = z[i] > T.Zero;
                    h[i] = positive || T.IsNaN(z[i]) ? z[i] : T.Zero;
                    d1[i] = positive ? T.One : T.Zero;
                }
                break;
            }
            case Activation.Tanh:
                for (var i = 0; i < z.Length; i++)
                {
                    var a = T.Tanh(z[i]);
                    h[i] = a;
                    d1[i] = T.One - a * a;
                    d2[i] = -two * a * d1[i];
                }
                break;
            case Activation.Sigmoid:
                for (var i = 0; i < z.Length; i++)
                {
                    var s = T.One / (T.One + T.Exp(-z[i]));
                    h[i] = s;
                    d1[i] = (T.One - s) * s;
                    d2[i] = (T.One - two * s) * d1[i];
                }
                break;
            case Activation.Silu:
                for (var i = 0; i < z.Length; i++)
                {
                    var s = T.One / (T.One + T.Exp(-z[i]));
                    h[i] = z[i] * s;
                    d1[i] = s * (T.One + z[i] * (T.One - s));
                    d2[i] = s * (T.One - s) * (two + z[i] * (T.One - two * s));
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        }
    }

    // c[r, j] (+)= Σ_q a[r·ar + q·aq] · b[q, j] for r < rows, q < inner, j < cols; b and c row-major. The columns go in
    // SIMD registers, five vectors at a time (a 40-wide layer in float32 or in two blocks in float64), so each element
    // of a is broadcast once per block and every b row is one run of fused multiply-adds.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm(ReadOnlySpan<T> a, int ar, int aq, ReadOnlySpan<T> b, Span<T> c, int rows, int inner, int cols, bool accumulate)
    {
        if (a.Length < (rows - 1) * ar + (inner - 1) * aq + 1 || b.Length < inner * cols || c.Length < rows * cols)
            throw new ArgumentException("matrix sizes do not fit their buffers");
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var rc = ref MemoryMarshal.GetReference(c);
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vc = Vector256<T>.Count;
            for (; j + 5 * vc <= cols; j += 5 * vc)
            {
                var r = 0;
                for (; r + 2 <= rows; r += 2)       // two rows at a time: ten independent chains of multiply-adds
                    Block5x2(ref Unsafe.Add(ref ra, r * ar), ar, aq, ref Unsafe.Add(ref rb, j), ref Unsafe.Add(ref rc, r * cols + j), inner, cols, accumulate);
                for (; r < rows; r++)
                {
                    ref var cr = ref Unsafe.Add(ref rc, r * cols + j);
                    Vector256<T> c0, c1, c2, c3, c4;
                    if (accumulate)
                    {
                        c0 = Vector256.LoadUnsafe(ref cr);
                        c1 = Vector256.LoadUnsafe(ref cr, (nuint)vc);
                        c2 = Vector256.LoadUnsafe(ref cr, (nuint)(2 * vc));
                        c3 = Vector256.LoadUnsafe(ref cr, (nuint)(3 * vc));
                        c4 = Vector256.LoadUnsafe(ref cr, (nuint)(4 * vc));
                    }
                    else c0 = c1 = c2 = c3 = c4 = Vector256<T>.Zero;
                    ref var ar0 = ref Unsafe.Add(ref ra, r * ar);
                    ref var bj = ref Unsafe.Add(ref rb, j);
                    for (var q = 0; q < inner; q++)
                    {
                        var s = Vector256.Create(Unsafe.Add(ref ar0, q * aq));
                        ref var bq = ref Unsafe.Add(ref bj, q * cols);
                        c0 = MultiplyAdd(s, Vector256.LoadUnsafe(ref bq), c0);
                        c1 = MultiplyAdd(s, Vector256.LoadUnsafe(ref bq, (nuint)vc), c1);
                        c2 = MultiplyAdd(s, Vector256.LoadUnsafe(ref bq, (nuint)(2 * vc)), c2);
                        c3 = MultiplyAdd(s, Vector256.LoadUnsafe(ref bq, (nuint)(3 * vc)), c3);
                        c4 = MultiplyAdd(s, Vector256.LoadUnsafe(ref bq, (nuint)(4 * vc)), c4);
                    }
                    c0.StoreUnsafe(ref cr);
                    c1.StoreUnsafe(ref cr, (nuint)vc);
                    c2.StoreUnsafe(ref cr, (nuint)(2 * vc));
                    c3.StoreUnsafe(ref cr, (nuint)(3 * vc));
                    c4.StoreUnsafe(ref cr, (nuint)(4 * vc));
                }
            }
            for (; j + vc <= cols; j += vc)
            {
                var r = 0;
                for (; r + 2 <= rows; r += 2)       // two rows at a time: two independent chains of multiply-adds
                {
                    ref var c0r = ref Unsafe.Add(ref rc, r * cols + j);
                    ref var c1r = ref Unsafe.Add(ref rc, (r + 1) * cols + j);
                    var c0 = accumulate ? Vector256.LoadUnsafe(ref c0r) : Vector256<T>.Zero;
                    var c1 = accumulate ? Vector256.LoadUnsafe(ref c1r) : Vector256<T>.Zero;
                    for (var q = 0; q < inner; q++)
                    {
                        var bq = Vector256.LoadUnsafe(ref rb, (nuint)(q * cols + j));
                        c0 = MultiplyAdd(Vector256.Create(Unsafe.Add(ref ra, r * ar + q * aq)), bq, c0);
                        c1 = MultiplyAdd(Vector256.Create(Unsafe.Add(ref ra, (r + 1) * ar + q * aq)), bq, c1);
                    }
                    c0.StoreUnsafe(ref c0r);
                    c1.StoreUnsafe(ref c1r);
                }
                for (; r < rows; r++)
                {
                    var at = (nuint)(r * cols + j);
                    var c0 = accumulate ? Vector256.LoadUnsafe(ref rc, at) : Vector256<T>.Zero;
                    for (var q = 0; q < inner; q++)
                        c0 = MultiplyAdd(Vector256.Create(Unsafe.Add(ref ra, r * ar + q * aq)), Vector256.LoadUnsafe(ref rb, (nuint)(q * cols + j)), c0);
                    c0.StoreUnsafe(ref rc, at);
                }
            }
        }
        if (cols == 1 && Vector256.IsHardwareAccelerated)
        {
            // One output column (a network's single output): dot products along contiguous rows of a, or, where a is
            // read transposed (its columns contiguous), an axpy per q over rows.
            var vc = Vector256<T>.Count;
            if (aq == 1 && inner >= vc)
            {
                for (var r = 0; r < rows; r++)
                {
                    ref var ar0 = ref Unsafe.Add(ref ra, r * ar);
                    var (s0, s1) = (Vector256<T>.Zero, Vector256<T>.Zero);
                    var q = 0;
                    for (; q + 2 * vc <= inner; q += 2 * vc)
                    {
                        s0 = MultiplyAdd(Vector256.LoadUnsafe(ref ar0, (nuint)q), Vector256.LoadUnsafe(ref rb, (nuint)q), s0);
                        s1 = MultiplyAdd(Vector256.LoadUnsafe(ref ar0, (nuint)(q + vc)), Vector256.LoadUnsafe(ref rb, (nuint)(q + vc)), s1);
                    }
                    for (; q + vc <= inner; q += vc) s0 = MultiplyAdd(Vector256.LoadUnsafe(ref ar0, (nuint)q), Vector256.LoadUnsafe(ref rb, (nuint)q), s0);
                    var sum = Vector256.Sum(s0 + s1);
                    for (; q < inner; q++) sum += Unsafe.Add(ref ar0, q) * Unsafe.Add(ref rb, q);
                    Unsafe.Add(ref rc, r) = accumulate ? Unsafe.Add(ref rc, r) + sum : sum;
                }
                return;
            }
            if (ar == 1 && rows >= vc)
            {
                if (!accumulate) c[..rows].Clear();
                for (var q = 0; q < inner; q++)
                {
                    var s = Unsafe.Add(ref rb, q);
                    ref var aq0 = ref Unsafe.Add(ref ra, q * aq);
                    var sv = Vector256.Create(s);
                    var r = 0;
                    for (; r + vc <= rows; r += vc)
                        MultiplyAdd(sv, Vector256.LoadUnsafe(ref aq0, (nuint)r), Vector256.LoadUnsafe(ref rc, (nuint)r)).StoreUnsafe(ref rc, (nuint)r);
                    for (; r < rows; r++) Unsafe.Add(ref rc, r) += s * Unsafe.Add(ref aq0, r);
                }
                return;
            }
        }
        for (; j < cols; j++)
        {
            for (var r = 0; r < rows; r++)
            {
                var sum = accumulate ? Unsafe.Add(ref rc, r * cols + j) : T.Zero;
                ref var ar0 = ref Unsafe.Add(ref ra, r * ar);
                for (var q = 0; q < inner; q++) sum += Unsafe.Add(ref ar0, q * aq) * Unsafe.Add(ref rb, q * cols + j);
                Unsafe.Add(ref rc, r * cols + j) = sum;
            }
        }
    }

    // Two rows r, r + 1 of c, five vectors wide: c[r.., j..] (+)= Σ_q a(r, q)·b[q, j..].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block5x2(ref T a, int ar, int aq, ref T b, ref T c, int inner, int cols, bool accumulate)
    {
        var vc = (nuint)Vector256<T>.Count;
        ref var c1r = ref Unsafe.Add(ref c, cols);
        Vector256<T> x0, x1, x2, x3, x4, y0, y1, y2, y3, y4;
        if (accumulate)
        {
            (x0, x1, x2, x3, x4) = (Vector256.LoadUnsafe(ref c), Vector256.LoadUnsafe(ref c, vc), Vector256.LoadUnsafe(ref c, 2 * vc), Vector256.LoadUnsafe(ref c, 3 * vc), Vector256.LoadUnsafe(ref c, 4 * vc));
            (y0, y1, y2, y3, y4) = (Vector256.LoadUnsafe(ref c1r), Vector256.LoadUnsafe(ref c1r, vc), Vector256.LoadUnsafe(ref c1r, 2 * vc), Vector256.LoadUnsafe(ref c1r, 3 * vc), Vector256.LoadUnsafe(ref c1r, 4 * vc));
        }
        else x0 = x1 = x2 = x3 = x4 = y0 = y1 = y2 = y3 = y4 = Vector256<T>.Zero;
        ref var a1 = ref Unsafe.Add(ref a, ar);
        for (var q = 0; q < inner; q++)
        {
            ref var bq = ref Unsafe.Add(ref b, q * cols);
            var s = Vector256.Create(Unsafe.Add(ref a, q * aq));
            var t = Vector256.Create(Unsafe.Add(ref a1, q * aq));
            var v = Vector256.LoadUnsafe(ref bq);
            x0 = MultiplyAdd(s, v, x0);
            y0 = MultiplyAdd(t, v, y0);
            v = Vector256.LoadUnsafe(ref bq, vc);
            x1 = MultiplyAdd(s, v, x1);
            y1 = MultiplyAdd(t, v, y1);
            v = Vector256.LoadUnsafe(ref bq, 2 * vc);
            x2 = MultiplyAdd(s, v, x2);
            y2 = MultiplyAdd(t, v, y2);
            v = Vector256.LoadUnsafe(ref bq, 3 * vc);
            x3 = MultiplyAdd(s, v, x3);
            y3 = MultiplyAdd(t, v, y3);
            v = Vector256.LoadUnsafe(ref bq, 4 * vc);
            x4 = MultiplyAdd(s, v, x4);
            y4 = MultiplyAdd(t, v, y4);
        }
        x0.StoreUnsafe(ref c);
        x1.StoreUnsafe(ref c, vc);
        x2.StoreUnsafe(ref c, 2 * vc);
        x3.StoreUnsafe(ref c, 3 * vc);
        x4.StoreUnsafe(ref c, 4 * vc);
        y0.StoreUnsafe(ref c1r);
        y1.StoreUnsafe(ref c1r, vc);
        y2.StoreUnsafe(ref c1r, 2 * vc);
        y3.StoreUnsafe(ref c1r, 3 * vc);
        y4.StoreUnsafe(ref c1r, 4 * vc);
    }

    // a·b + c, fused where the hardware has it (one rounding: float64 results agree with libtorch's to ~1e-16 relative).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
            if (typeof(T) == typeof(double))
                return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }
        return a * b + c;
    }

    // Every row of c [rows, bias.Length] set to bias.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillRows(Span<T> c, ReadOnlySpan<T> bias, int rows)
    {
        for (var r = 0; r < rows; r++) bias.CopyTo(c.Slice(r * bias.Length, bias.Length));
    }

    // sums[j] = Σ_r m[r, j].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnSums(ReadOnlySpan<T> m, Span<T> sums, int rows)
    {
        var cols = sums.Length;
        m[..cols].CopyTo(sums);
        for (var r = 1; r < rows; r++) AddScaled(sums, sums, m.Slice(r * cols, cols), T.One);
    }

    // dst [cols, rows] = src [rows, cols]ᵀ.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols)
    {
        if (src.Length < rows * cols || dst.Length < rows * cols) throw new ArgumentException("matrix sizes do not fit their buffers");
        ref var rs = ref MemoryMarshal.GetReference(src);
        ref var rd = ref MemoryMarshal.GetReference(dst);
        // Whole 8 × 8 (float) or 4 × 4 (double) tiles in registers; the rest element by element.
        var (tileRows, tileCols) = (0, 0);
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported && (typeof(T) == typeof(float) || typeof(T) == typeof(double)))
        {
            var tile = Vector256<T>.Count;
            (tileRows, tileCols) = (rows - rows % tile, cols - cols % tile);
            for (var r = 0; r < tileRows; r += tile)
                for (var c = 0; c < tileCols; c += tile)
                {
                    if (typeof(T) == typeof(float))
                        Tile8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref rs, r * cols + c)), cols, ref Unsafe.As<T, float>(ref Unsafe.Add(ref rd, c * rows + r)), rows);
                    else
                        Tile4(ref Unsafe.As<T, double>(ref Unsafe.Add(ref rs, r * cols + c)), cols, ref Unsafe.As<T, double>(ref Unsafe.Add(ref rd, c * rows + r)), rows);
                }
        }
        for (var r = 0; r < rows; r++)
        {
            ref var row = ref Unsafe.Add(ref rs, r * cols);
            for (var c = r < tileRows ? tileCols : 0; c < cols; c++) Unsafe.Add(ref rd, c * rows + r) = Unsafe.Add(ref row, c);
        }
    }

    // An 8 × 8 float tile: src rows at stride sourceStride to dst rows at stride targetStride, transposed.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8(ref float src, int sourceStride, ref float dst, int targetStride)
    {
        var s = (nuint)sourceStride;
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref src, s);
        var r2 = Vector256.LoadUnsafe(ref src, 2 * s);
        var r3 = Vector256.LoadUnsafe(ref src, 3 * s);
        var r4 = Vector256.LoadUnsafe(ref src, 4 * s);
        var r5 = Vector256.LoadUnsafe(ref src, 5 * s);
        var r6 = Vector256.LoadUnsafe(ref src, 6 * s);
        var r7 = Vector256.LoadUnsafe(ref src, 7 * s);
        var t0 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r0, r1);
        var t1 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r0, r1);
        var t2 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r2, r3);
        var t3 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r2, r3);
        var t4 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r4, r5);
        var t5 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r4, r5);
        var t6 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r6, r7);
        var t7 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r6, r7);
        var u0 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0x44);
        var u1 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t0, t2, 0xEE);
        var u2 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0x44);
        var u3 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t1, t3, 0xEE);
        var u4 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0x44);
        var u5 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t4, t6, 0xEE);
        var u6 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0x44);
        var u7 = System.Runtime.Intrinsics.X86.Avx.Shuffle(t5, t7, 0xEE);
        var d = (nuint)targetStride;
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, 2 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, 3 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, 4 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, 5 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, 6 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, 7 * d);
    }

    // A 4 × 4 double tile, as Tile8.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4(ref double src, int sourceStride, ref double dst, int targetStride)
    {
        var s = (nuint)sourceStride;
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref src, s);
        var r2 = Vector256.LoadUnsafe(ref src, 2 * s);
        var r3 = Vector256.LoadUnsafe(ref src, 3 * s);
        var t0 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r0, r1);     // a0 b0 a2 b2
        var t1 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r0, r1);    // a1 b1 a3 b3
        var t2 = System.Runtime.Intrinsics.X86.Avx.UnpackLow(r2, r3);     // c0 d0 c2 d2
        var t3 = System.Runtime.Intrinsics.X86.Avx.UnpackHigh(r2, r3);    // c1 d1 c3 d3
        var d = (nuint)targetStride;
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref dst);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref dst, d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref dst, 2 * d);
        System.Runtime.Intrinsics.X86.Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref dst, 3 * d);
    }

    // dst = a ⊙ b (dst may be a or b).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply(Span<T> dst, ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var ra = ref MemoryMarshal.GetReference(a);
            ref var rb = ref MemoryMarshal.GetReference(b);
            ref var rd = ref MemoryMarshal.GetReference(dst);
            for (; i + Vector256<T>.Count <= dst.Length; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < dst.Length; i++) dst[i] = a[i] * b[i];
    }

    // dst = a + scale·b (dst may be a or b).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddScaled(Span<T> dst, ReadOnlySpan<T> a, ReadOnlySpan<T> b, T scale)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var ra = ref MemoryMarshal.GetReference(a);
            ref var rb = ref MemoryMarshal.GetReference(b);
            ref var rd = ref MemoryMarshal.GetReference(dst);
            var s = Vector256.Create(scale);
            for (; i + Vector256<T>.Count <= dst.Length; i += Vector256<T>.Count)
                MultiplyAdd(s, Vector256.LoadUnsafe(ref rb, (nuint)i), Vector256.LoadUnsafe(ref ra, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        }
        for (; i < dst.Length; i++) dst[i] = a[i] + scale * b[i];
    }
}
