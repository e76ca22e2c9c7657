using System.Globalization;
using Meta.Tasks;

namespace Meta.Sampling;

/// <summary>
/// Every knob of the task samplers. Defaults are seed 000's (<see cref="SamplerDefaults"/>). <see cref="Validate()"/>
/// and <see cref="Validate(IReadOnlyList{TaskParameter})"/> throw <see cref="ArgumentException"/> with a one-line
/// message naming the command-line option (<c>--epsilon-final: '2' is not accepted; expected …</c>).
/// </summary>
public sealed record PriorityQueueOptions
{
    /// <summary>Largest grid accepted (cells), so a typo in a block size is an error rather than an out-of-memory.</summary>
    public const long MaxCells = 50_000_000;

    private const string MaxCellsText = "50,000,000";

    /// <summary>The sampling regime (<c>--sampler</c>).</summary>
    public SamplerKind Kind { get; init; } = SamplerKind.Uniform;

    /// <summary>ε at the first draw, in [0, 1] (<c>--epsilon-start</c>).</summary>
    public double EpsilonStart { get; init; } = SamplerDefaults.EpsilonStart;

    /// <summary>Lowest ε, in [0, <see cref="EpsilonStart"/>] (<c>--epsilon-final</c>).</summary>
    public double EpsilonFinal { get; init; } = SamplerDefaults.EpsilonFinal;

    /// <summary>Decrease of ε per drawn task, ≥ 0 (<c>--epsilon-decay-rate</c>).</summary>
    public double EpsilonDecayRate { get; init; } = SamplerDefaults.EpsilonDecayRate;

    /// <summary>ε decays only in meta-steps (Draw calls, from 0) after this one, ≥ 0 (<c>--epsilon-decay-start</c>).</summary>
    public long EpsilonDecayStart { get; init; } = SamplerDefaults.EpsilonDecayStart;

    /// <summary>Divide importance weights by their batch mean (<c>--self-normalise</c>).</summary>
    public bool SelfNormalise { get; init; } = SamplerDefaults.SelfNormalise;

    /// <summary>Queue block size per task parameter (<c>--{name}-block</c>); null takes the family's defaults.</summary>
    public IReadOnlyList<double>? BlockSizes { get; init; }

    /// <summary>Scale σ of the initial losses |N(0, σ²)|, or the constant (<c>--initial-loss</c>, &gt; 0).</summary>
    public double InitialLoss { get; init; } = SamplerDefaults.InitialLoss;

    /// <summary>Scale σ of the initial changes |N(0, σ²)|, or the constant (<c>--initial-change</c>, &gt; 0).</summary>
    public double InitialChange { get; init; } = SamplerDefaults.InitialChange;

    /// <summary>Fill the grids with the constants instead of half-normal draws (<c>--initial-constant</c>).</summary>
    public bool InitialConstant { get; init; } = SamplerDefaults.InitialConstant;

    /// <summary>Seed 000's truncated grid: cells exactly one block wide; the rest of a range is never drawn (<c>--truncate-cells</c>).</summary>
    public bool TruncateCells { get; init; } = SamplerDefaults.TruncateCells;

    /// <summary>Whether <see cref="Kind"/> draws from a priority queue.</summary>
    public bool UsesQueue => Kind != SamplerKind.Uniform;

    /// <summary>The block sizes to use for <paramref name="family"/>: <see cref="BlockSizes"/> or the family's defaults.</summary>
    public IReadOnlyList<double> BlocksFor(IContinuousTaskFamily family) => BlockSizes ?? family.DefaultQueueBlocks;

    /// <summary>Checks the options that do not depend on the task family.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
            throw Rejected("sampler", Kind.ToString(), "one of " + string.Join(", ", Enum.GetNames<SamplerKind>().Select(Hosting.OptionNames.Kebab)));
        InUnitInterval(EpsilonStart, "epsilon-start");
        InUnitInterval(EpsilonFinal, "epsilon-final");
        if (EpsilonFinal > EpsilonStart)
            throw new ArgumentException($"--epsilon-final ({Format(EpsilonFinal)}) must not be above --epsilon-start ({Format(EpsilonStart)})");
        if (!(EpsilonDecayRate >= 0) || !double.IsFinite(EpsilonDecayRate)) throw Rejected("epsilon-decay-rate", Format(EpsilonDecayRate), "a number ≥ 0");
        if (EpsilonDecayStart < 0) throw Rejected("epsilon-decay-start", Format(EpsilonDecayStart), "a whole number ≥ 0");
        if (!(InitialLoss > 0) || !double.IsFinite(InitialLoss))
            throw Rejected("initial-loss", Format(InitialLoss), "a number > 0 (a zero start makes p ∝ loss undefined)");
        if (!(InitialChange > 0) || !double.IsFinite(InitialChange))
            throw Rejected("initial-change", Format(InitialChange), "a number > 0 (a zero start makes p ∝ change undefined)");
    }

    /// <summary>Checks everything, including that each block fits its parameter's range in <paramref name="parameters"/>.</summary>
    public void Validate(IReadOnlyList<TaskParameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Validate();
        if (BlockSizes is null) return;
        if (BlockSizes.Count != parameters.Count)
            throw new ArgumentException(
                $"block sizes: {BlockSizes.Count} given for {parameters.Count} task parameters ({string.Join(", ", parameters.Select(p => "--" + p.Name + "-block"))})");
        long cells = 1;
        for (var d = 0; d < parameters.Count; d++)
        {
            cells *= CellCount(parameters[d], BlockSizes[d]);
            if (cells > MaxCells)
                throw Rejected(parameters[d].Name + "-block", Format(BlockSizes[d]), $"a block giving at most {MaxCellsText} cells in all");
        }
    }

    /// <summary>
    /// Cells along <paramref name="parameter"/> for <paramref name="block"/>: ⌊width / block⌋ (with a 1e-9 relative tolerance,
    /// so π / (π/36) is 36 even when rounding makes it 35.999…). Throws if the block is not a positive size that fits.
    /// </summary>
    public static int CellCount(TaskParameter parameter, double block)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var option = parameter.Name + "-block";
        var width = parameter.Width;
        if (!(block > 0) || !double.IsFinite(block)) throw Rejected(option, Format(block), "a number > 0");
        if (!(width > 0) || !double.IsFinite(width))
            throw new ArgumentException($"--{option}: the {parameter.Name} range [{Format(parameter.Min)}, {Format(parameter.Max)}] is empty, so no grid fits it");
        var ratio = width / block;
        var n = Math.Floor(ratio * (1 + 1e-9));
        if (n < 1)
            throw Rejected(option, Format(block), $"a number ≤ {Format(width)}, the width of the {parameter.Name} range [{Format(parameter.Min)}, {Format(parameter.Max)}]");
        if (n > MaxCells) throw Rejected(option, Format(block), $"a block giving at most {MaxCellsText} cells");
        return (int)n;
    }

    private static void InUnitInterval(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) throw Rejected(name, Format(value), "a number in [0, 1]");
    }

    private static ArgumentException Rejected(string option, string value, string accepted) =>
        new($"--{option}: '{value}' is not accepted; expected {accepted}");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
