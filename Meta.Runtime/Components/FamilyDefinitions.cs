using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Hosting;
using Meta.Sampling;
using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>
/// Sinusoid regression y = A·sin(x − φ) (Finn et al. 2017) on the 1-40-40-1 MLP; evaluated against a model trained from
/// scratch and one pre-trained jointly, on fixed test tasks. With a <c>[Sampler]</c> it is also validated on seed 000's grid.
/// </summary>
[DefaultNetwork<MlpNetwork>]
[System.ComponentModel.DisplayName("sinusoid regression")]
public sealed class Sinusoids : ISampledTaskFamily
{
    private SinusoidFamily? _family;

    /// <summary>Lower bound of the amplitude A.</summary>
    [Option("Lower bound of the amplitude A.", NonNegative = true)]
    public double AmplitudeMin { get; set; } = SinusoidRanges.Default.AmplitudeMin;

    /// <summary>Upper bound of the amplitude A.</summary>
    [Option("Upper bound of the amplitude A.", Above = nameof(AmplitudeMin))]
    public double AmplitudeMax { get; set; } = SinusoidRanges.Default.AmplitudeMax;

    /// <summary>Lower bound of the phase φ.</summary>
    [Option("Lower bound of the phase φ (radians).")]
    public double PhaseMin { get; set; } = SinusoidRanges.Default.PhaseMin;

    /// <summary>Upper bound of the phase φ.</summary>
    [Option("Upper bound of the phase φ (radians).", Above = nameof(PhaseMin))]
    public double PhaseMax { get; set; } = SinusoidRanges.Default.PhaseMax;

    /// <summary>Lower bound of the input x.</summary>
    [Option("Lower bound of the input x.")]
    public double InputMin { get; set; } = SinusoidRanges.Default.InputMin;

    /// <summary>Upper bound of the input x.</summary>
    [Option("Upper bound of the input x.", Above = nameof(InputMin))]
    public double InputMax { get; set; } = SinusoidRanges.Default.InputMax;

    /// <summary>Support points K per task.</summary>
    [Option("Support points K per task.", Minimum = 1)]
    public int Shots { get; set; } = ExperimentDefaults.Shots;

    /// <summary>Query points per task.</summary>
    [Option("Query points per task.", Minimum = 1)]
    public int QueryShots { get; set; } = ExperimentDefaults.Shots;

    /// <summary>Queue block of the amplitude (with a <c>[Sampler]</c>).</summary>
    [Option("Queue block of the amplitude A.", Positive = true)]
    [SamplerOnly]
    public double AmplitudeBlock { get; set; } = SamplerDefaults.AmplitudeBlock;

    /// <summary>Queue block of the phase (with a <c>[Sampler]</c>).</summary>
    [Option("Queue block of the phase φ (radians).", Positive = true)]
    [SamplerOnly]
    public double PhaseBlock { get; set; } = SamplerDefaults.PhaseBlock;

    /// <summary>Fixed test tasks of the final evaluation.</summary>
    [Option("Fixed test tasks of the final evaluation.", Minimum = 2)]
    public int EvalTasks { get; set; } = ExperimentDefaults.EvalTasks;

    /// <summary>Test points per evaluation task.</summary>
    [Option("Evenly spaced test points per evaluation task.", Minimum = 1)]
    public int EvalPoints { get; set; } = ExperimentDefaults.EvalPoints;

    /// <summary>Adam iterations of the jointly pre-trained baseline.</summary>
    [Option("Adam iterations of the jointly pre-trained baseline (0 skips it).", Minimum = 0)]
    public int PretrainIterations { get; set; } = ExperimentDefaults.PretrainIterations;

    /// <summary>The task distribution (built from the ranges on first use).</summary>
    public SinusoidFamily Family => _family ??= new SinusoidFamily(new SinusoidRanges(AmplitudeMin, AmplitudeMax, PhaseMin, PhaseMax, InputMin, InputMax));

    /// <inheritdoc />
    public IContinuousTaskFamily Space => Family;

    /// <summary>The queue blocks of a <c>[Sampler]</c>, one per task parameter.</summary>
    public IReadOnlyList<double> QueueBlocks => [AmplitudeBlock, PhaseBlock];

    /// <inheritdoc />
    public TaskShape Shape { get; } = new([1], 1, Classification: false);

    /// <inheritdoc />
    public ITaskLoss Loss => TaskLoss.MeanSquaredErrorLoss;

    /// <inheritdoc />
    public void Prepare(FamilyContext context) => _family = null;

    /// <inheritdoc />
    public Episode Draw(int tasks, Generator generator) => Family.Episode(Family.Sample(tasks, generator), Shots, QueryShots, generator);

    /// <inheritdoc />
    public Episode EpisodeFor(Tensor parameters, Generator generator) => Family.EpisodeFor(parameters, Shots, QueryShots, generator);

    /// <inheritdoc />
    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Sampling is not null)
            TaskWeightedEvaluation.Evaluate(context.Run, context.Algorithm, Family, context.MetaParameters, context.Sampling, context.Seeds);
        return SinusoidBenchmark.Evaluate(context.Run, context.Algorithm, Family, context.MetaParameters, context.Seeds, context.Definition.InnerLr,
            EvalTasks, EvalPoints, PretrainIterations, context.MetaBatch, Shots, context.MetaLr, context.Init, context.Cancel);
    }
}

/// <summary>
/// Seed 000's 3-D sinusoids y = A·sin(φ + ω·x), evaluated on the fixed validation grid over (A, φ, ω).
/// </summary>
[DefaultNetwork<MlpNetwork>]
[System.ComponentModel.DisplayName("3-D sinusoid regression")]
public sealed class Sinusoids3D : ISampledTaskFamily
{
    private Sinusoid3DFamily? _family;

    /// <summary>Lower bound of the amplitude A.</summary>
    [Option("Lower bound of the amplitude A.", NonNegative = true)]
    public double AmplitudeMin { get; set; } = Sinusoid3DRanges.Default.AmplitudeMin;

    /// <summary>Upper bound of the amplitude A.</summary>
    [Option("Upper bound of the amplitude A.", Above = nameof(AmplitudeMin))]
    public double AmplitudeMax { get; set; } = Sinusoid3DRanges.Default.AmplitudeMax;

    /// <summary>Lower bound of the phase φ.</summary>
    [Option("Lower bound of the phase φ (radians).")]
    public double PhaseMin { get; set; } = Sinusoid3DRanges.Default.PhaseMin;

    /// <summary>Upper bound of the phase φ.</summary>
    [Option("Upper bound of the phase φ (radians).", Above = nameof(PhaseMin))]
    public double PhaseMax { get; set; } = Sinusoid3DRanges.Default.PhaseMax;

    /// <summary>Lower bound of the frequency ω.</summary>
    [Option("Lower bound of the frequency ω.")]
    public double FrequencyMin { get; set; } = Sinusoid3DRanges.Default.FrequencyMin;

    /// <summary>Upper bound of the frequency ω.</summary>
    [Option("Upper bound of the frequency ω.", Above = nameof(FrequencyMin))]
    public double FrequencyMax { get; set; } = Sinusoid3DRanges.Default.FrequencyMax;

    /// <summary>Lower bound of the input x.</summary>
    [Option("Lower bound of the input x.")]
    public double InputMin { get; set; } = Sinusoid3DRanges.Default.InputMin;

    /// <summary>Upper bound of the input x.</summary>
    [Option("Upper bound of the input x.", Above = nameof(InputMin))]
    public double InputMax { get; set; } = Sinusoid3DRanges.Default.InputMax;

    /// <summary>Support points K per task.</summary>
    [Option("Support points K per task.", Minimum = 1)]
    public int Shots { get; set; } = ExperimentDefaults.Shots;

    /// <summary>Query points per task.</summary>
    [Option("Query points per task.", Minimum = 1)]
    public int QueryShots { get; set; } = ExperimentDefaults.Shots;

    /// <summary>Queue block of the amplitude.</summary>
    [Option("Queue block of the amplitude A.", Positive = true)]
    [SamplerOnly]
    public double AmplitudeBlock { get; set; } = SamplerDefaults.AmplitudeBlock;

    /// <summary>Queue block of the phase.</summary>
    [Option("Queue block of the phase φ (radians).", Positive = true)]
    [SamplerOnly]
    public double PhaseBlock { get; set; } = SamplerDefaults.PhaseBlock;

    /// <summary>Queue block of the frequency.</summary>
    [Option("Queue block of the frequency ω.", Positive = true)]
    [SamplerOnly]
    public double FrequencyBlock { get; set; } = SamplerDefaults.FrequencyBlock;

    /// <summary>The task distribution.</summary>
    public Sinusoid3DFamily Family => _family ??= new Sinusoid3DFamily(new Sinusoid3DRanges(
        AmplitudeMin, AmplitudeMax, PhaseMin, PhaseMax, FrequencyMin, FrequencyMax, InputMin, InputMax));

    /// <inheritdoc />
    public IContinuousTaskFamily Space => Family;

    /// <summary>The queue blocks of a <c>[Sampler]</c>, one per task parameter.</summary>
    public IReadOnlyList<double> QueueBlocks => [AmplitudeBlock, PhaseBlock, FrequencyBlock];

    /// <inheritdoc />
    public TaskShape Shape { get; } = new([1], 1, Classification: false);

    /// <inheritdoc />
    public ITaskLoss Loss => TaskLoss.MeanSquaredErrorLoss;

    /// <inheritdoc />
    public void Prepare(FamilyContext context) => _family = null;

    /// <inheritdoc />
    public Episode Draw(int tasks, Generator generator) => Family.Episode(Family.Sample(tasks, generator), Shots, QueryShots, generator);

    /// <inheritdoc />
    public Episode EpisodeFor(Tensor parameters, Generator generator) => Family.EpisodeFor(parameters, Shots, QueryShots, generator);

    /// <inheritdoc />
    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        TaskWeightedEvaluation.Evaluate(context.Run, context.Algorithm, Family, context.MetaParameters, context.Sampling, context.Seeds);
        return null;
    }
}
