using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>A batch of 3-D sinusoid tasks: amplitudes A [T], phases φ [T] and frequencies ω [T].</summary>
public sealed record Sinusoid3DTasks(Tensor Amplitude, Tensor Phase, Tensor Frequency)
{
    /// <summary>Number of tasks.</summary>
    public long Count => Amplitude.Dims()[0];
}

/// <summary>
/// Sinusoid regression with a frequency (seed 000's <c>sin3d</c>): a task is y = A·sin(φ + ω·x); support and query
/// points are drawn independently and uniformly from the input range, through the caller's generator. Its parameters
/// are (amplitude A, phase φ in radians, frequency ω).
/// </summary>
public sealed class Sinusoid3DFamily : IContinuousTaskFamily
{
    /// <summary>Creates the family over <paramref name="ranges"/>.</summary>
    public Sinusoid3DFamily(Sinusoid3DRanges ranges, ScalarType dtype = ScalarType.Float32)
    {
        if (!(ranges.AmplitudeMin <= ranges.AmplitudeMax) || !(ranges.PhaseMin <= ranges.PhaseMax)
            || !(ranges.FrequencyMin <= ranges.FrequencyMax) || !(ranges.InputMin < ranges.InputMax))
            throw new ArgumentException($"invalid 3-D sinusoid ranges: {ranges}", nameof(ranges));
        Ranges = ranges;
        DType = dtype;
        Parameters =
        [
            new("amplitude", "A", ranges.AmplitudeMin, ranges.AmplitudeMax),
            new("phase", "φ", ranges.PhaseMin, ranges.PhaseMax),
            new("frequency", "ω", ranges.FrequencyMin, ranges.FrequencyMax),
        ];
    }

    /// <summary>The parameter box.</summary>
    public Sinusoid3DRanges Ranges { get; }

    /// <inheritdoc />
    public ScalarType DType { get; }

    /// <summary>(amplitude A, phase φ in radians, frequency ω).</summary>
    public IReadOnlyList<TaskParameter> Parameters { get; }

    /// <summary>Seed 000's queue blocks: 0.1, 5° = π/36 rad, 0.2 (49 × 36 × 7 cells over the default box).</summary>
    public IReadOnlyList<double> DefaultQueueBlocks { get; } =
        [SamplerDefaults.AmplitudeBlock, SamplerDefaults.PhaseBlock, SamplerDefaults.FrequencyBlock];

    /// <summary>Seed 000's validation grid: steps 0.2, 10° = π/18 rad, 0.2 (25 × 18 × 8 tasks).</summary>
    public IReadOnlyList<double> DefaultValidationSteps { get; } =
        [SamplerDefaults.AmplitudeValidationStep, SamplerDefaults.PhaseValidationStep, SamplerDefaults.FrequencyValidationStep];

    /// <summary>Draws <paramref name="count"/> tasks uniformly from the box.</summary>
    public Sinusoid3DTasks Sample(long count, Generator generator)
    {
        var amplitude = Uniform([count], Ranges.AmplitudeMin, Ranges.AmplitudeMax, generator);
        var phase = Uniform([count], Ranges.PhaseMin, Ranges.PhaseMax, generator);
        var frequency = Uniform([count], Ranges.FrequencyMin, Ranges.FrequencyMax, generator);
        return new Sinusoid3DTasks(amplitude, phase, frequency);
    }

    /// <summary>The targets A·sin(φ + ω·x) of <paramref name="tasks"/> at inputs <paramref name="x"/> [T, N, 1].</summary>
    public Tensor Target(Sinusoid3DTasks tasks, Tensor x) =>
        tasks.Amplitude.view(-1, 1, 1) * sin(tasks.Phase.view(-1, 1, 1) + tasks.Frequency.view(-1, 1, 1) * x);

    /// <summary><paramref name="count"/> inputs per task drawn uniformly from the input range: [T, count, 1].</summary>
    public Tensor Inputs(long tasks, long count, Generator generator) =>
        Uniform([tasks, count, 1], Ranges.InputMin, Ranges.InputMax, generator);

    /// <summary>An episode: <paramref name="support"/> and <paramref name="query"/> points per task, drawn independently.</summary>
    public Episode Episode(Sinusoid3DTasks tasks, int support, int query, Generator generator)
    {
        ContinuousFamilyChecks.Sizes(support, query);
        var xs = Inputs(tasks.Count, support, generator);
        var xq = Inputs(tasks.Count, query, generator);
        return new Episode(xs, Target(tasks, xs), xq, Target(tasks, xq));
    }

    /// <summary>The tasks whose (A, φ, ω) are the rows of <paramref name="parameters"/> [T, 3].</summary>
    public Sinusoid3DTasks TasksFor(Tensor parameters)
    {
        ContinuousFamilyChecks.Parameters(parameters, 3);
        var p = parameters.to_type(DType);
        return new Sinusoid3DTasks(p.select(1, 0), p.select(1, 1), p.select(1, 2));
    }

    /// <inheritdoc />
    public Episode EpisodeFor(Tensor parameters, int support, int query, Generator generator) =>
        Episode(TasksFor(parameters), support, query, generator);

    private Tensor Uniform(long[] shape, double low, double high, Generator generator) =>
        rand(shape, DType, generator: generator) * (high - low) + low;
}
