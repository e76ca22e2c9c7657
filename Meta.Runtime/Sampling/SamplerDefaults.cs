namespace Meta;

/// <summary>
/// Defaults of the task-sampler knobs: seed 000's values (base configuration of seblee97/maml). Block sizes and validation
/// steps are in the task family's units; phases are radians, so the seed's 5° block is π/36 and its 10° validation step
/// is π/18.
/// </summary>
public static class SamplerDefaults
{
    /// <summary>ε at the first draw.</summary>
    public const double EpsilonStart = 1.0;
    /// <summary>ε never decays below this.</summary>
    public const double EpsilonFinal = 0.1;
    /// <summary>Decrease of ε per drawn task (not per meta-step).</summary>
    public const double EpsilonDecayRate = 1e-7;
    /// <summary>ε decays only in meta-steps (Draw calls, counted from 0) after this one.</summary>
    public const long EpsilonDecayStart = 0;
    /// <summary>Importance weights are used as (1/N)/p, not divided by their batch mean (the seed's choice).</summary>
    public const bool SelfNormalise = false;
    /// <summary>Amplitude block: 0.1, so 49 cells over [0.1, 5].</summary>
    public const double AmplitudeBlock = 0.1;
    /// <summary>Phase block: 5° = π/36 rad, so 36 cells over [0, π].</summary>
    public const double PhaseBlock = Math.PI / 36;
    /// <summary>Frequency block: 0.2, so 7 cells over [0.5, 2] (int(1.5 / 0.2) = 7).</summary>
    public const double FrequencyBlock = 0.2;
    /// <summary>Scale σ of the initial losses |N(0, σ²)| (or the constant, with <see cref="InitialConstant"/>).</summary>
    public const double InitialLoss = 1.0;
    /// <summary>Scale σ of the initial changes |N(0, σ²)| (or the constant, with <see cref="InitialConstant"/>).</summary>
    public const double InitialChange = 30.0;
    /// <summary>Fill the grids with the constants instead of half-normal draws.</summary>
    public const bool InitialConstant = false;
    /// <summary>Cells stretch to cover the whole range; true reproduces the seed's truncated grid (ω ∈ [1.9, 2] never drawn).</summary>
    public const bool TruncateCells = false;
    /// <summary>Validation grid step of the amplitude: 0.2 (25 values from 0.1).</summary>
    public const double AmplitudeValidationStep = 0.2;
    /// <summary>Validation grid step of the phase: 10° = π/18 rad (18 values from 0).</summary>
    public const double PhaseValidationStep = Math.PI / 18;
    /// <summary>Validation grid step of the frequency: 0.2 (8 values from 0.5).</summary>
    public const double FrequencyValidationStep = 0.2;
    /// <summary>Support (and fresh query) points per validation task.</summary>
    public const int ValidationShots = 10;
    /// <summary>SGD steps per validation task.</summary>
    public const int ValidationSteps = 5;
}
