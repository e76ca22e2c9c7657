using Meta.Sampling;
using Meta.Tasks;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>The grid itself: shapes, inserts, jitter, initial values, state. Plain .NET, no TorchSharp.</summary>
public sealed class PriorityQueueTests
{
    private static readonly IReadOnlyList<TaskParameter> Sine2D = new SinusoidFamily(SinusoidRanges.Default).Parameters;
    private static readonly IReadOnlyList<TaskParameter> Sine3D = new Sinusoid3DFamily(Sinusoid3DRanges.Default).Parameters;
    private static readonly double[] Blocks2D = [SamplerDefaults.AmplitudeBlock, SamplerDefaults.PhaseBlock];
    private static readonly double[] Blocks3D = [SamplerDefaults.AmplitudeBlock, SamplerDefaults.PhaseBlock, SamplerDefaults.FrequencyBlock];

    [Fact]
    public void Seed_blocks_give_49_by_36_cells_for_2D_sinusoids()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 1);
        Assert.Equal(new[] { 49, 36 }, queue.Shape);
        Assert.Equal(1764, queue.Cells);
        Assert.Equal(0.1, queue.CellWidths[0], 12);
        Assert.Equal(Math.PI / 36, queue.CellWidths[1], 12); // 5° in radians
    }

    [Fact]
    public void Seed_blocks_give_49_by_36_by_7_cells_for_3D_sinusoids_covering_the_whole_frequency_range()
    {
        var queue = new PriorityQueue(Sine3D, Blocks3D, new PriorityQueueOptions(), 1);
        Assert.Equal(new[] { 49, 36, 7 }, queue.Shape);
        Assert.Equal(12_348, queue.Cells);
        Assert.Equal(1.5 / 7, queue.CellWidths[2], 12); // stretched: the seven cells cover [0.5, 2]
        Assert.Equal(2.0, queue.CellHigh(queue.Cells - 1, 2), 12);
    }

    [Fact]
    public void Truncated_cells_reproduce_the_seed_and_never_reach_the_top_of_the_frequency_range()
    {
        var queue = new PriorityQueue(Sine3D, Blocks3D, new PriorityQueueOptions { TruncateCells = true }, 1);
        Assert.Equal(new[] { 49, 36, 7 }, queue.Shape);
        Assert.Equal(0.2, queue.CellWidths[2], 12);
        Assert.Equal(1.9, queue.CellHigh(queue.Cells - 1, 2), 12);
    }

    [Fact]
    public void Insert_updates_loss_change_and_count_of_that_cell_only()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions { InitialConstant = true, InitialLoss = 2, InitialChange = 7 }, 1);
        queue.Insert(100, 0.5);
        Assert.Equal(0.5, queue.Losses[100]);
        Assert.Equal(1.5, queue.Changes[100], 12);
        Assert.Equal(1, queue.Counts[100]);
        queue.Insert(100, 0.75);
        Assert.Equal(0.75, queue.Losses[100]);
        Assert.Equal(0.25, queue.Changes[100], 12);
        Assert.Equal(2, queue.Counts[100]);
        Assert.Equal(2, queue.Inserts);
        Assert.Equal(2.0, queue.Losses[101]);
        Assert.Equal(7.0, queue.Changes[101]);
        Assert.Equal(0, queue.Counts[101]);
    }

    [Fact]
    public void Insert_rejects_bad_losses_and_cells()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 1);
        Assert.Throws<ArgumentException>(() => queue.Insert(0, double.NaN));
        Assert.Throws<ArgumentException>(() => queue.Insert(0, double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => queue.Insert(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Insert(queue.Cells, 1));
    }

    [Fact]
    public void Jitter_stays_inside_the_cell_in_every_dimension()
    {
        var queue = new PriorityQueue(Sine3D, Blocks3D, new PriorityQueueOptions(), 3);
        Span<double> values = stackalloc double[3];
        for (var cell = 0; cell < queue.Cells; cell++)
            for (var repeat = 0; repeat < 4; repeat++)
            {
                queue.Jitter(cell, values);
                for (var d = 0; d < 3; d++)
                {
                    Assert.InRange(values[d], queue.CellLow(cell, d), queue.CellHigh(cell, d));
                    Assert.InRange(values[d], Sine3D[d].Min, Sine3D[d].Max);
                }
            }
    }

    [Fact]
    public void Jitter_fills_the_cell_uniformly()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 5);
        Span<double> values = stackalloc double[2];
        var cell = queue.Cell([10, 20]);
        double sum = 0, min = double.MaxValue, max = double.MinValue;
        const int n = 20_000;
        for (var i = 0; i < n; i++)
        {
            queue.Jitter(cell, values);
            var u = (values[0] - queue.CellLow(cell, 0)) / queue.CellWidths[0];
            sum += u;
            min = Math.Min(min, u);
            max = Math.Max(max, u);
        }
        Assert.InRange(sum / n, 0.49, 0.51);
        Assert.True(min < 0.001 && max > 0.999);
    }

    [Fact]
    public void Cells_are_row_major_with_the_last_parameter_fastest()
    {
        var queue = new PriorityQueue(Sine3D, Blocks3D, new PriorityQueueOptions(), 1);
        var cell = queue.Cell([2, 3, 4]);
        Assert.Equal(2 * 36 * 7 + 3 * 7 + 4, cell);
        Assert.Equal(2, queue.Coordinate(cell, 0));
        Assert.Equal(3, queue.Coordinate(cell, 1));
        Assert.Equal(4, queue.Coordinate(cell, 2));
        Assert.Equal(0.1 + 2 * 0.1, queue.CellLow(cell, 0), 12);
    }

    [Fact]
    public void Initial_values_are_half_normal_with_the_configured_scales()
    {
        var queue = new PriorityQueue(Sine3D, Blocks3D, new PriorityQueueOptions(), 11);
        var (lossMean, _) = SamplerMetrics.MeanStd(queue.Losses);
        var (changeMean, _) = SamplerMetrics.MeanStd(queue.Changes);
        // E|N(0, σ²)| = σ·√(2/π); over 12,348 cells the standard error is about 0.5 % of σ.
        Assert.InRange(lossMean, 0.7979 - 0.03, 0.7979 + 0.03);
        Assert.InRange(changeMean, 30 * 0.7979 - 0.9, 30 * 0.7979 + 0.9);
        Assert.All(queue.Losses.ToArray(), v => Assert.True(v > 0));
        Assert.All(queue.Counts.ToArray(), c => Assert.Equal(0, c));
    }

    [Fact]
    public void Constant_initial_values_fill_every_cell()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions { InitialConstant = true, InitialLoss = 3, InitialChange = 4 }, 1);
        Assert.All(queue.Losses.ToArray(), v => Assert.Equal(3.0, v));
        Assert.All(queue.Changes.ToArray(), v => Assert.Equal(4.0, v));
    }

    [Fact]
    public void Export_then_import_restores_grids_and_random_stream()
    {
        var a = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 21);
        for (var i = 0; i < 50; i++) a.Insert(a.Random.NextInt(a.Cells), a.Random.NextDouble());
        var state = a.ExportState();
        var b = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 99);
        b.ImportState(state);
        Assert.Equal(a.Losses.ToArray(), b.Losses.ToArray());
        Assert.Equal(a.Changes.ToArray(), b.Changes.ToArray());
        Assert.Equal(a.Counts.ToArray(), b.Counts.ToArray());
        Assert.Equal(a.Inserts, b.Inserts);
        for (var i = 0; i < 100; i++) Assert.Equal(a.Random.NextUInt64(), b.Random.NextUInt64());
        state.Losses[0] = 123; // the export is a copy
        Assert.NotEqual(123, a.Losses[0]);
    }

    [Fact]
    public void Import_rejects_a_state_without_changes_or_of_another_shape_and_leaves_the_queue_unchanged()
    {
        var queue = new PriorityQueue(Sine2D, Blocks2D, new PriorityQueueOptions(), 21);
        var before = queue.Losses.ToArray();
        var state = queue.ExportState();
        Assert.Contains("changes", Assert.Throws<ArgumentException>(() => queue.ImportState(state with { Changes = null! })).Message);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => queue.ImportState(state with { Shape = [36, 49] })).Message);
        Assert.Throws<ArgumentException>(() => queue.ImportState(state with { Losses = [.. state.Losses.Select(_ => double.NaN)] }));
        Assert.Throws<ArgumentException>(() => queue.ImportState(state with { Random = [0, 0, 0, 0] }));
        Assert.Equal(before, queue.Losses.ToArray());
    }

    [Fact]
    public void Random_integers_are_uniform_and_the_stream_is_reproducible()
    {
        var a = new SamplerRandom(5);
        var b = new SamplerRandom(5);
        var counts = new long[12];
        for (var i = 0; i < 120_000; i++)
        {
            var k = a.NextInt(12);
            Assert.Equal(k, b.NextInt(12));
            counts[k]++;
        }
        Assert.True(SamplingFixtures.ChiSquare(counts, [.. Enumerable.Repeat(1.0 / 12, 12)]) < SamplingFixtures.ChiSquare11At001);
        Assert.NotEqual(new SamplerRandom(5).NextUInt64(), new SamplerRandom(6).NextUInt64());
    }
}
