using Meta.Sampling;
using static Meta.Tests.Runtime.Sampling.SamplingFixtures;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>Draw frequencies, ε schedule and importance weights on a 12-cell box with fixed seeds.</summary>
[Collection(TorchCollection.Name)]
public sealed class SamplerDistributionTests
{
    // q_i = i + 1 except one empty cell, which must never be drawn.
    private static readonly double[] Values = [1, 2, 3, 4, 0, 6, 7, 8, 9, 10, 11, 12];

    private static double[] Normalised(double[] v) => [.. v.Select(x => x / v.Sum())];

    [Theory]
    [InlineData(SamplerKind.Weighted)]
    [InlineData(SamplerKind.ImportanceWeighted)]
    [InlineData(SamplerKind.Delta)]
    [InlineData(SamplerKind.ImportanceDelta)]
    public void Proportional_draw_frequencies_match_p_over_100k_draws(SamplerKind kind)
    {
        var sampler = BoxSampler(kind, Values);
        var counts = CountCells(sampler, 4_000, 25);
        Assert.Equal(100_000, counts.Sum());
        Assert.True(ChiSquare(counts, Normalised(Values)) < ChiSquare11At001, $"χ² too large for {kind}");
    }

    [Fact]
    public void Delta_follows_the_changes_and_weighted_follows_the_losses()
    {
        double[] flat = [.. Enumerable.Repeat(1.0, 12)];
        foreach (var kind in new[] { SamplerKind.Weighted, SamplerKind.Delta })
        {
            var sampler = BoxSampler(kind, flat);
            var queue = sampler.Queue!;
            var state = queue.ExportState();
            var skewed = (double[])flat.Clone();
            skewed[3] = 100;
            queue.ImportState(kind == SamplerKind.Delta ? state with { Changes = skewed } : state with { Losses = skewed });
            Assert.Equal(100.0 / 111, ((ProportionalSampler)sampler).Probabilities()[3], 12);
            var counts = CountCells(sampler, 400, 25);
            Assert.True(ChiSquare(counts, Normalised(skewed)) < ChiSquare11At001);
        }
    }

    [Fact]
    public void Epsilon_greedy_mixes_uniform_cells_with_the_tied_maxima()
    {
        var values = (double[])Values.Clone();
        values[5] = 12; // two cells share the highest loss
        var options = new PriorityQueueOptions { EpsilonStart = 0.3, EpsilonFinal = 0.3, EpsilonDecayRate = 0 };
        var sampler = BoxSampler(SamplerKind.EpsilonGreedy, values, options: options);
        var counts = CountCells(sampler, 4_000, 25);
        var p = new double[12];
        for (var i = 0; i < 12; i++) p[i] = 0.3 / 12 + (values[i] == 12 ? 0.7 / 2 : 0);
        Assert.True(ChiSquare(counts, p) < ChiSquare11At001);
        Assert.Equal(0.3, sampler.Epsilon);
    }

    [Fact]
    public void Greedy_draws_find_every_tied_maximum_including_cells_past_the_last_full_vector()
    {
        // 5 × 3 = 15 cells: not a multiple of any SIMD width, so cell 14 is in the scalar tail.
        var options = new PriorityQueueOptions { Kind = SamplerKind.EpsilonGreedy, EpsilonStart = 0, EpsilonFinal = 0 };
        var sampler = TaskSamplers.Create(new BoxFamily(5, 3), options, 4);
        var state = sampler.Queue!.ExportState();
        var losses = Enumerable.Range(0, 15).Select(i => 0.1 * i).ToArray();
        losses[2] = losses[14] = 9;
        sampler.Queue.ImportState(state with { Losses = losses });
        var counts = CountCells(sampler, 200, 25);
        Assert.Equal(5000, counts[2] + counts[14]);
        Assert.InRange(counts[2], 2300, 2700);
    }

    [Fact]
    public void Epsilon_decays_linearly_per_task_after_the_start_step_and_stops_exactly_at_the_final_value()
    {
        var options = new PriorityQueueOptions { EpsilonStart = 1.0, EpsilonFinal = 0.1, EpsilonDecayRate = 0.01, EpsilonDecayStart = 2 };
        var sampler = BoxSampler(SamplerKind.EpsilonGreedy, Values, options: options);
        Assert.Equal(1.0, sampler.Epsilon);
        for (var step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            sampler.Draw(5);
            // Draw calls 0, 1, 2 do not decay; from call 3 on, each of the 5 tasks lowers ε by 0.01.
            var expected = Math.Max(0.1, 1.0 - 0.01 * 5 * Math.Max(0, step - 2));
            Assert.Equal(expected, sampler.Epsilon!.Value, 12);
        }
        Assert.Equal(0.1, sampler.Epsilon);
        Assert.Equal(90, sampler.ExportState().DecayedDraws); // 0.9 / 0.01 tasks, never one more
    }

    [Fact]
    public void Seed_schedule_takes_nine_million_tasks_from_one_to_the_final_value()
    {
        var options = new PriorityQueueOptions { EpsilonDecayStart = 0 };
        var sampler = BoxSampler(SamplerKind.EpsilonGreedy, Values, options: options);
        var state = sampler.ExportState();
        sampler.ImportState(state with { Draws = 360_001, DecayedDraws = 8_999_975 });
        Assert.Equal(0.1 + 25e-7, sampler.Epsilon!.Value, 12);
        using var scope = NewDisposeScope();
        sampler.Draw(25);
        Assert.Equal(0.1, sampler.Epsilon!.Value, 12);
        sampler.Draw(25);
        Assert.Equal(0.1, sampler.Epsilon!.Value, 12);
    }

    [Theory]
    [InlineData(SamplerKind.ImportanceWeighted)]
    [InlineData(SamplerKind.ImportanceDelta)]
    public void Importance_weights_average_to_one_under_p(SamplerKind kind)
    {
        var sampler = (ProportionalSampler)BoxSampler(kind, Values);
        var p = sampler.Probabilities();
        // Exactly: Σ_i p_i · (1/N)/p_i = Σ over cells with p_i > 0 of 1/N = 11/12 here, 1 when no cell is empty.
        var expectation = p.Select(pi => pi > 0 ? pi * (1.0 / 12) / pi : 0).Sum();
        Assert.Equal(11.0 / 12, expectation, 12);

        var full = (ProportionalSampler)BoxSampler(kind, [.. Values.Select(v => v + 0.5)]);
        var weights = new List<double>();
        CountCells(full, 4_000, 25, weights);
        Assert.Equal(100_000, weights.Count);
        Assert.InRange(weights.Average(), 0.98, 1.02);
        Assert.All(weights, w => Assert.True(double.IsFinite(w) && w > 0));
    }

    [Fact]
    public void Importance_weight_is_one_over_N_p_of_the_drawn_cell_and_tensor_matches()
    {
        var sampler = (ProportionalSampler)BoxSampler(SamplerKind.ImportanceWeighted, Values);
        var p = sampler.Probabilities();
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(25);
        Assert.NotNull(draw.Weights);
        var tensorWeights = draw.Weights!.data<double>().ToArray();
        for (var t = 0; t < 25; t++)
        {
            Assert.Equal(1.0 / 12 / p[draw.Cells![t]], draw.ImportanceWeights![t], 12);
            Assert.Equal(draw.ImportanceWeights[t], tensorWeights[t]);
        }
    }

    [Fact]
    public void Self_normalised_weights_have_batch_mean_one()
    {
        var sampler = BoxSampler(SamplerKind.ImportanceDelta, Values, options: new PriorityQueueOptions { SelfNormalise = true });
        for (var i = 0; i < 20; i++)
        {
            using var scope = NewDisposeScope();
            var draw = sampler.Draw(25);
            Assert.Equal(1.0, draw.MeanImportanceWeight!.Value, 12);
        }
    }

    [Theory]
    [InlineData(SamplerKind.Uniform)]
    [InlineData(SamplerKind.EpsilonGreedy)]
    [InlineData(SamplerKind.Weighted)]
    [InlineData(SamplerKind.Delta)]
    public void Unweighted_regimes_return_no_weights(SamplerKind kind)
    {
        var sampler = TaskSamplers.Create(new BoxFamily(), new PriorityQueueOptions { Kind = kind }, 3);
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(7);
        Assert.Null(draw.Weights);
        Assert.Null(draw.ImportanceWeights);
        Assert.Equal(kind == SamplerKind.Uniform, draw.Cells is null);
        Assert.Equal(new long[] { 7, 2 }, draw.Parameters.shape);
    }

    [Fact]
    public void A_zero_sum_distribution_is_a_one_line_argument_error_not_NaN()
    {
        var sampler = BoxSampler(SamplerKind.Delta, [.. Enumerable.Repeat(0.0, 12)]);
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => sampler.Draw(25));
        Assert.StartsWith("--sampler delta:", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Epsilon_greedy_with_all_cells_equal_draws_uniformly_and_never_divides()
    {
        var options = new PriorityQueueOptions { EpsilonStart = 0, EpsilonFinal = 0 };
        var sampler = BoxSampler(SamplerKind.EpsilonGreedy, [.. Enumerable.Repeat(0.0, 12)], options: options);
        var counts = CountCells(sampler, 2_000, 25);
        Assert.True(ChiSquare(counts, [.. Enumerable.Repeat(1.0 / 12, 12)]) < ChiSquare11At001);
    }
}
