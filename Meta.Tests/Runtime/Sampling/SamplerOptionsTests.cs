using Meta.Sampling;
using Meta.Tasks;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>Bad input: one-line ArgumentExceptions naming the option. Plain .NET, no TorchSharp.</summary>
public sealed class SamplerOptionsTests
{
    private static readonly IReadOnlyList<TaskParameter> Sine2D = new SinusoidFamily(SinusoidRanges.Default).Parameters;
    private static readonly IReadOnlyList<TaskParameter> Sine3D = new Sinusoid3DFamily(Sinusoid3DRanges.Default).Parameters;

    private static string Rejects(PriorityQueueOptions options, IReadOnlyList<TaskParameter>? parameters = null)
    {
        var e = Assert.Throws<ArgumentException>(() => options.Validate(parameters ?? Sine2D));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(e.ParamName); // no "(Parameter '…')" suffix: the message is the whole line
        return e.Message;
    }

    [Fact]
    public void Seed_defaults_are_valid_for_both_families()
    {
        new PriorityQueueOptions { Kind = SamplerKind.EpsilonGreedy }.Validate(Sine2D);
        new PriorityQueueOptions { BlockSizes = [0.1, Math.PI / 36, 0.2] }.Validate(Sine3D);
    }

    [Theory]
    [InlineData(10.0, 0.1, "--amplitude-block")]   // larger than the range [0.1, 5]
    [InlineData(0.0, 0.1, "--amplitude-block")]
    [InlineData(-0.1, 0.1, "--amplitude-block")]
    [InlineData(0.1, double.NaN, "--phase-block")]
    [InlineData(0.1, 4.0, "--phase-block")]        // larger than π
    [InlineData(0.1, double.PositiveInfinity, "--phase-block")]
    public void Block_sizes_that_do_not_fit_the_range_are_rejected(double amplitude, double phase, string option)
    {
        var message = Rejects(new PriorityQueueOptions { BlockSizes = [amplitude, phase] });
        Assert.StartsWith(option + ":", message);
    }

    [Fact]
    public void A_grid_too_large_to_allocate_is_rejected()
    {
        var message = Rejects(new PriorityQueueOptions { BlockSizes = [1e-6, 1e-6] });
        Assert.StartsWith("--", message);
        Assert.Contains("-block", message);
    }

    [Fact]
    public void Block_sizes_must_match_the_number_of_parameters()
    {
        var message = Rejects(new PriorityQueueOptions { BlockSizes = [0.1, 0.1, 0.2] });
        Assert.Contains("--amplitude-block", message);
        Assert.Contains("--phase-block", message);
    }

    [Theory]
    [InlineData(1.5, 0.1, "--epsilon-start")]
    [InlineData(-0.1, 0.0, "--epsilon-start")]
    [InlineData(double.NaN, 0.1, "--epsilon-start")]
    [InlineData(1.0, -0.1, "--epsilon-final")]
    [InlineData(1.0, 1.1, "--epsilon-final")]
    public void Epsilon_outside_the_unit_interval_is_rejected(double start, double final, string option)
    {
        var message = Rejects(new PriorityQueueOptions { EpsilonStart = start, EpsilonFinal = final });
        Assert.StartsWith(option + ":", message);
    }

    [Fact]
    public void A_final_epsilon_above_the_start_is_rejected()
    {
        var message = Rejects(new PriorityQueueOptions { EpsilonStart = 0.2, EpsilonFinal = 0.5 });
        Assert.Equal("--epsilon-final (0.5) must not be above --epsilon-start (0.2)", message);
    }

    [Fact]
    public void Negative_decay_rate_or_start_is_rejected()
    {
        Assert.StartsWith("--epsilon-decay-rate:", Rejects(new PriorityQueueOptions { EpsilonDecayRate = -1e-7 }));
        Assert.StartsWith("--epsilon-decay-start:", Rejects(new PriorityQueueOptions { EpsilonDecayStart = -1 }));
    }

    [Fact]
    public void Zero_initial_values_are_rejected_because_they_make_the_distribution_undefined()
    {
        Assert.StartsWith("--initial-loss:", Rejects(new PriorityQueueOptions { InitialLoss = 0 }));
        Assert.StartsWith("--initial-change:", Rejects(new PriorityQueueOptions { InitialChange = 0, InitialConstant = true }));
    }

    [Fact]
    public void An_undefined_sampler_kind_is_rejected()
    {
        Assert.StartsWith("--sampler:", Rejects(new PriorityQueueOptions { Kind = (SamplerKind)42 }));
    }

    [Fact]
    public void The_queue_constructor_validates_too()
    {
        var e = Assert.Throws<ArgumentException>(() => new PriorityQueue(Sine2D, [0.1, 4.0], new PriorityQueueOptions(), 1));
        Assert.StartsWith("--phase-block:", e.Message);
    }

    [Fact]
    public void Cell_counts_tolerate_rounding_of_exact_multiples()
    {
        Assert.Equal(36, PriorityQueueOptions.CellCount(new TaskParameter("phase", "φ", 0, Math.PI), Math.PI / 36));
        Assert.Equal(36, PriorityQueueOptions.CellCount(new TaskParameter("phase", "φ", 0, Math.PI), 5 * Math.PI / 180));
        Assert.Equal(49, PriorityQueueOptions.CellCount(new TaskParameter("amplitude", "A", 0.1, 5), 0.1));
        Assert.Equal(7, PriorityQueueOptions.CellCount(new TaskParameter("frequency", "ω", 0.5, 2), 0.2));
    }
}
