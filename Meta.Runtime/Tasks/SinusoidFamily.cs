using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>A batch of sinusoid tasks: amplitudes A [T] and phases φ [T].</summary>
public sealed record SinusoidTasks(Tensor Amplitude, Tensor Phase)
{
    /// <summary>Number of tasks.</summary>
    public long Count => Amplitude.shape[0];
}

/// <summary>
/// Sinusoid regression (Finn et al. 2017): a task is y = A·sin(x + φ); support and query points are drawn independently
/// and uniformly from the input range. All sampling goes through the caller's generator, so a seed fixes the stream.
/// </summary>
public sealed class SinusoidFamily
{
    /// <summary>Creates the family over <paramref name="ranges"/>.</summary>
    public SinusoidFamily(SinusoidRanges ranges, ScalarType dtype = ScalarType.Float32)
    {
        if (!(ranges.AmplitudeMin <= ranges.AmplitudeMax) || !(ranges.PhaseMin <= ranges.PhaseMax) || !(ranges.InputMin < ranges.InputMax))
            throw new ArgumentException($"invalid sinusoid ranges: {ranges}", nameof(ranges));
        Ranges = ranges;
        DType = dtype;
    }

    /// <summary>The parameter box.</summary>
    public SinusoidRanges Ranges { get; }

    /// <summary>The dtype of the tensors produced.</summary>
    public ScalarType DType { get; }

    /// <summary>Draws <paramref name="count"/> tasks uniformly from the box.</summary>
    public SinusoidTasks Sample(long count, Generator generator)
    {
        var amplitude = Uniform([count], Ranges.AmplitudeMin, Ranges.AmplitudeMax, generator);
        var phase = Uniform([count], Ranges.PhaseMin, Ranges.PhaseMax, generator);
        return new SinusoidTasks(amplitude, phase);
    }

    /// <summary>The targets of <paramref name="tasks"/> at inputs <paramref name="x"/> [T, N, 1].</summary>
    public Tensor Target(SinusoidTasks tasks, Tensor x) =>
        tasks.Amplitude.view(-1, 1, 1) * sin(x + tasks.Phase.view(-1, 1, 1));

    /// <summary><paramref name="count"/> inputs per task drawn uniformly from the input range: [T, count, 1].</summary>
    public Tensor Inputs(long tasks, long count, Generator generator) =>
        Uniform([tasks, count, 1], Ranges.InputMin, Ranges.InputMax, generator);

    /// <summary>An episode: <paramref name="support"/> and <paramref name="query"/> points per task, drawn independently.</summary>
    public Episode Episode(SinusoidTasks tasks, int support, int query, Generator generator)
    {
        if (support < 1 || query < 1) throw new ArgumentException("support and query sizes must be at least 1");
        var xs = Inputs(tasks.Count, support, generator);
        var xq = Inputs(tasks.Count, query, generator);
        return new Episode(xs, Target(tasks, xs), xq, Target(tasks, xq));
    }

    private Tensor Uniform(long[] shape, double low, double high, Generator generator) =>
        rand(shape, DType, generator: generator) * (high - low) + low;
}
