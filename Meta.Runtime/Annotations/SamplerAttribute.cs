namespace Meta;

/// <summary>
/// How meta-batches are drawn: uniformly, or from a priority queue over the task-parameter box (task-weighted MAML,
/// seed 000). The named properties are the defaults of the experiment's options; each is also a command-line option
/// (<c>--epsilon-start</c>, <c>--amplitude-block</c>, …). Block sizes are in the family's units (phase in radians).
/// </summary>
/// <param name="kind">The sampling regime.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SamplerAttribute(SamplerKind kind) : Attribute
{
    /// <summary>The sampling regime.</summary>
    public SamplerKind Kind { get; } = kind;

    /// <summary>ε at the first draw, in [0, 1] (ε-greedy only; default 1).</summary>
    public double EpsilonStart { get; set; } = SamplerDefaults.EpsilonStart;

    /// <summary>Lowest ε, in [0, EpsilonStart] (default 0.1).</summary>
    public double EpsilonFinal { get; set; } = SamplerDefaults.EpsilonFinal;

    /// <summary>Linear decrease of ε per drawn task, ≥ 0 (default 1e-7).</summary>
    public double EpsilonDecayRate { get; set; } = SamplerDefaults.EpsilonDecayRate;

    /// <summary>ε decays only in meta-steps after this one (default 0).</summary>
    public long EpsilonDecayStart { get; set; } = SamplerDefaults.EpsilonDecayStart;

    /// <summary>Divide the importance weights by their batch mean (default false: the seed's unnormalised weights).</summary>
    public bool SelfNormalise { get; set; } = SamplerDefaults.SelfNormalise;

    /// <summary>Queue block of the amplitude A (default 0.1).</summary>
    public double AmplitudeBlock { get; set; } = SamplerDefaults.AmplitudeBlock;

    /// <summary>Queue block of the phase φ in radians (default π/36 = 5°).</summary>
    public double PhaseBlock { get; set; } = SamplerDefaults.PhaseBlock;

    /// <summary>Queue block of the frequency ω (3-D sinusoids; default 0.2).</summary>
    public double FrequencyBlock { get; set; } = SamplerDefaults.FrequencyBlock;

    /// <summary>Scale σ of the initial losses |N(0, σ²)|, or the constant with <see cref="InitialConstant"/> (&gt; 0; default 1).</summary>
    public double InitialLoss { get; set; } = SamplerDefaults.InitialLoss;

    /// <summary>Scale σ of the initial changes |N(0, σ²)|, or the constant with <see cref="InitialConstant"/> (&gt; 0; default 30).</summary>
    public double InitialChange { get; set; } = SamplerDefaults.InitialChange;

    /// <summary>Start every cell at exactly <see cref="InitialLoss"/> and <see cref="InitialChange"/> (default false).</summary>
    public bool InitialConstant { get; set; } = SamplerDefaults.InitialConstant;

    /// <summary>Reproduce the seed's truncated grid: cells of exactly the block size, the remainder of the range never drawn (default false).</summary>
    public bool TruncateCells { get; set; } = SamplerDefaults.TruncateCells;
}
