using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>A batch of sinusoid tasks: amplitudes A [T] and phases φ [T].</summary>
public sealed record SinusoidTasks(Tensor Amplitude, Tensor Phase)
{
    /// <summary>Number of tasks.</summary>
    public long Count => Amplitude.Dims()[0];
}

/// <summary>
/// Sinusoid regression (Finn et al. 2017): a task is y = A·sin(x − φ), the sign of the MAML paper's reference code (so a
/// model exported to PyTorch predicts the tasks its users draw); support and query points are drawn independently
/// and uniformly from the input range. All sampling goes through the caller's generator, so a seed fixes the stream.
/// As an <see cref="IContinuousTaskFamily"/> its parameters are (amplitude A, phase φ in radians).
/// </summary>
public sealed class SinusoidFamily : IContinuousTaskFamily
{
    /// <summary>Creates the family over <paramref name="ranges"/>.</summary>
    public SinusoidFamily(SinusoidRanges ranges, ScalarType dtype = ScalarType.Float32)
    {
        if (!(ranges.AmplitudeMin <= ranges.AmplitudeMax) || !(ranges.PhaseMin <= ranges.PhaseMax) || !(ranges.InputMin < ranges.InputMax))
            throw new ArgumentException($"invalid sinusoid ranges: {ranges}", nameof(ranges));
        Ranges = ranges;
        DType = dtype;
        Parameters = [new("amplitude", "A", ranges.AmplitudeMin, ranges.AmplitudeMax), new("phase", "φ", ranges.PhaseMin, ranges.PhaseMax)];
    }

    /// <summary>(amplitude A, phase φ in radians).</summary>
    public IReadOnlyList<TaskParameter> Parameters { get; }

    /// <summary>Seed 000's queue blocks: amplitude 0.1, phase 5° = π/36 rad (49 × 36 cells over the default box).</summary>
    public IReadOnlyList<double> DefaultQueueBlocks { get; } = [SamplerDefaults.AmplitudeBlock, SamplerDefaults.PhaseBlock];

    /// <summary>Seed 000's validation grid: amplitude step 0.2, phase step 10° = π/18 rad (25 × 18 tasks).</summary>
    public IReadOnlyList<double> DefaultValidationSteps { get; } = [SamplerDefaults.AmplitudeValidationStep, SamplerDefaults.PhaseValidationStep];

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
    public Tensor Target(SinusoidTasks tasks, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(x);
        // Dense CPU tensors of the family's dtype: the same float operations in one managed loop around libtorch's own
        // sin (so every value is bit-identical to the tensor expression below), one tensor instead of five.
        if (x.dim() == 3 && x.Dims()[2] == 1 && x.Dims()[0] == tasks.Count && Training.InPlaceUpdate.Qualifies(x)
            && Training.InPlaceUpdate.Qualifies(tasks.Amplitude, tasks.Phase) && tasks.Amplitude.dtype == x.dtype && tasks.Amplitude.dim() == 1)
        {
            var y = empty_like(x);
            var points = (int)x.Dims()[1];
            if (x.dtype == ScalarType.Float32) Shift<float>(tasks, x, y, points);
            else Shift<double>(tasks, x, y, points);
            y.sin_();
            if (x.dtype == ScalarType.Float32) Scale<float>(tasks, y, points);
            else Scale<double>(tasks, y, points);
            return y;
        }
        return tasks.Amplitude.view(-1, 1, 1) * sin(x - tasks.Phase.view(-1, 1, 1));
    }

    // y[t, n] = x[t, n] − φ_t.
    private static void Shift<T>(SinusoidTasks tasks, Tensor x, Tensor y, int points) where T : unmanaged, System.Numerics.INumber<T>
    {
        var xs = Training.InPlaceUpdate.Span<T>(x);
        var ys = Training.InPlaceUpdate.Span<T>(y);
        var phase = Training.InPlaceUpdate.Span<T>(tasks.Phase);
        for (var t = 0; t < phase.Length; t++)
            for (var n = t * points; n < (t + 1) * points; n++) ys[n] = xs[n] - phase[t];
    }

    // y[t, n] = A_t · y[t, n].
    private static void Scale<T>(SinusoidTasks tasks, Tensor y, int points) where T : unmanaged, System.Numerics.INumber<T>
    {
        var ys = Training.InPlaceUpdate.Span<T>(y);
        var amplitude = Training.InPlaceUpdate.Span<T>(tasks.Amplitude);
        for (var t = 0; t < amplitude.Length; t++)
            for (var n = t * points; n < (t + 1) * points; n++) ys[n] = amplitude[t] * ys[n];
    }

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

    /// <summary>The tasks whose (A, φ) are the rows of <paramref name="parameters"/> [T, 2].</summary>
    public SinusoidTasks TasksFor(Tensor parameters)
    {
        ContinuousFamilyChecks.Parameters(parameters, 2);
        var p = parameters.to_type(DType);
        return new SinusoidTasks(p.select(1, 0), p.select(1, 1));
    }

    /// <inheritdoc />
    public Episode EpisodeFor(Tensor parameters, int support, int query, Generator generator)
    {
        ContinuousFamilyChecks.Sizes(support, query);
        return Episode(TasksFor(parameters), support, query, generator);
    }

    private Tensor Uniform(long[] shape, double low, double high, Generator generator)
    {
        var u = rand(shape, DType, generator: generator);
        // u·(high − low) + low in place, in the dtype's own arithmetic as libtorch's scalar ops do it: one tensor, not three.
        if (DType == ScalarType.Float32)
        {
            var (width, start) = ((float)(high - low), (float)low);
            var values = Training.InPlaceUpdate.Span<float>(u);
            for (var i = 0; i < values.Length; i++) values[i] = values[i] * width + start;
            return u;
        }
        if (DType == ScalarType.Float64)
        {
            var values = Training.InPlaceUpdate.Span<double>(u);
            for (var i = 0; i < values.Length; i++) values[i] = values[i] * (high - low) + low;
            return u;
        }
        return u * (high - low) + low;
    }
}
