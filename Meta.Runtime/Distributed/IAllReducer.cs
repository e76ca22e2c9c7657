using static TorchSharp.torch;

namespace Meta.Distributed;

/// <summary>
/// The collective operations data-parallel meta-training needs: every rank computes the meta-gradient of its share of
/// the meta-batch, the ranks combine them, and every rank applies the same optimiser step, so θ stays identical.
/// Implementations: <see cref="SingleProcess"/> (no-op), <see cref="InProcessGroup"/> (threads; tests), and
/// <see cref="MpiAllReducer"/> (MPI.NET over MPICH; real multi-process and multi-machine runs).
/// </summary>
public interface IAllReducer : IDisposable
{
    /// <summary>This process's rank, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int Size { get; }

    /// <summary>Element-wise sum of <paramref name="values"/> over all ranks, in place.</summary>
    void SumInPlace(double[] values);

    /// <summary>Every rank's <paramref name="values"/> (all of equal length), concatenated in rank order.</summary>
    double[] Gather(double[] values);
}

/// <summary>A distributed run cannot go on: MPI missing or misconfigured, a rank gone, or ranks diverged.</summary>
public sealed class DistributedException(string message) : Exception(message);

/// <summary>Data-parallel helpers over an <see cref="IAllReducer"/>.</summary>
public static class AllReducerExtensions
{
    /// <summary>
    /// Turns each rank's mean gradient over its <paramref name="localTasks"/> tasks into the mean over all ranks' tasks,
    /// in place: Σ_r (g_r · n_r) / Σ_r n_r. With equal shares this is the plain mean of the ranks' gradients.
    /// </summary>
    public static void AverageGradient(this IAllReducer reducer, Tensor gradient, int localTasks)
    {
        if (reducer.Size == 1) return;
        var flat = gradient.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var buffer = new double[flat.Length + 1];
        for (var i = 0; i < flat.Length; i++) buffer[i] = flat[i] * localTasks;
        buffer[^1] = localTasks;
        reducer.SumInPlace(buffer);
        var total = buffer[^1];
        for (var i = 0; i < flat.Length; i++) flat[i] = buffer[i] / total;
        using var noGrad = no_grad();
        using var combined = tensor(flat, ScalarType.Float64).view(gradient.Dims()).to_type(gradient.dtype);
        gradient.copy_(combined);
    }

    /// <summary>The mean of a scalar over ranks, weighted by <paramref name="weight"/>.</summary>
    public static double WeightedMean(this IAllReducer reducer, double value, double weight)
    {
        if (reducer.Size == 1) return value;
        var buffer = new[] { value * weight, weight };
        reducer.SumInPlace(buffer);
        return buffer[0] / buffer[1];
    }

    /// <summary>How many of <paramref name="metaBatch"/> tasks this rank draws: an even split, the first ranks taking the remainder.</summary>
    public static int Share(this IAllReducer reducer, int metaBatch)
    {
        if (metaBatch < reducer.Size)
            throw new ArgumentException($"--meta-batch {metaBatch} is smaller than the {reducer.Size} ranks; every rank needs at least one task");
        return metaBatch / reducer.Size + (reducer.Rank < metaBatch % reducer.Size ? 1 : 0);
    }

    /// <summary>
    /// Verifies that every rank holds bit-identical <paramref name="parameters"/>; throws
    /// <see cref="DistributedException"/> naming the ranks that differ.
    /// </summary>
    public static void VerifyIdentical(this IAllReducer reducer, Tensor parameters, long iteration)
    {
        if (reducer.Size == 1) return;
        var checksum = Checksum(parameters);
        var all = reducer.Gather([checksum]);
        var differing = Enumerable.Range(0, all.Length).Where(r => BitConverter.DoubleToInt64Bits(all[r]) != BitConverter.DoubleToInt64Bits(all[0])).ToArray();
        if (differing.Length > 0)
            throw new DistributedException($"meta-parameters diverged across ranks at iteration {iteration}: rank(s) {string.Join(", ", differing)} differ from rank 0");
    }

    /// <summary>An order-sensitive checksum of a tensor's bytes (FNV-1a over the values), as a double for transport.</summary>
    public static double Checksum(Tensor parameters)
    {
        var values = parameters.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        ulong hash = 14695981039346656037UL;
        foreach (var v in values)
        {
            hash ^= (ulong)BitConverter.DoubleToInt64Bits(v);
            hash *= 1099511628211UL;
        }
        return BitConverter.Int64BitsToDouble((long)(hash & 0x000F_FFFF_FFFF_FFFFUL | 0x3FF0_0000_0000_0000UL)); // a finite double
    }
}

/// <summary>One process, no communication.</summary>
public sealed class SingleProcess : IAllReducer
{
    /// <inheritdoc />
    public int Rank => 0;
    /// <inheritdoc />
    public int Size => 1;
    /// <inheritdoc />
    public void SumInPlace(double[] values) { }
    /// <inheritdoc />
    public double[] Gather(double[] values) => [.. values];
    /// <inheritdoc />
    public void Dispose() { }
}
