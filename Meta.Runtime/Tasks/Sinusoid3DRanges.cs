namespace Meta;

/// <summary>The box 3-D sinusoid tasks are drawn from: y = A·sin(φ + ω·x), with A, φ, ω and x uniform in their ranges.</summary>
/// <param name="AmplitudeMin">Lower bound of A.</param>
/// <param name="AmplitudeMax">Upper bound of A.</param>
/// <param name="PhaseMin">Lower bound of φ (radians).</param>
/// <param name="PhaseMax">Upper bound of φ (radians).</param>
/// <param name="FrequencyMin">Lower bound of ω.</param>
/// <param name="FrequencyMax">Upper bound of ω.</param>
/// <param name="InputMin">Lower bound of x.</param>
/// <param name="InputMax">Upper bound of x.</param>
public sealed record Sinusoid3DRanges(
    double AmplitudeMin, double AmplitudeMax, double PhaseMin, double PhaseMax,
    double FrequencyMin, double FrequencyMax, double InputMin, double InputMax)
{
    /// <summary>Seed 000's <c>sin3d</c>: A ∈ [0.1, 5], φ ∈ [0, π], ω ∈ [0.5, 2], x ∈ [−5, 5].</summary>
    public static Sinusoid3DRanges Default { get; } = new(0.1, 5.0, 0.0, Math.PI, 0.5, 2.0, -5.0, 5.0);
}
