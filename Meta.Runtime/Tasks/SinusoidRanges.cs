namespace Meta;

/// <summary>The box sinusoid tasks are drawn from: y = A·sin(x − φ), A, φ and x uniform in their ranges.</summary>
/// <param name="AmplitudeMin">Lower bound of A.</param>
/// <param name="AmplitudeMax">Upper bound of A.</param>
/// <param name="PhaseMin">Lower bound of φ (radians).</param>
/// <param name="PhaseMax">Upper bound of φ (radians).</param>
/// <param name="InputMin">Lower bound of x.</param>
/// <param name="InputMax">Upper bound of x.</param>
public sealed record SinusoidRanges(
    double AmplitudeMin, double AmplitudeMax, double PhaseMin, double PhaseMax, double InputMin, double InputMax)
{
    /// <summary>Finn et al. (2017): A ∈ [0.1, 5], φ ∈ [0, π], x ∈ [−5, 5].</summary>
    public static SinusoidRanges Default { get; } = new(0.1, 5.0, 0.0, Math.PI, -5.0, 5.0);
}
