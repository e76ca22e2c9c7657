using Meta.Algorithms;
using Meta.Functional;
using Meta.Sampling;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>Determinism, checkpoints, observing losses, and the samplers inside a real meta-step.</summary>
[Collection(TorchCollection.Name)]
public sealed class SamplerLifecycleTests
{
    public static TheoryData<SamplerKind> AllKinds => [.. Enum.GetValues<SamplerKind>()];

    private static readonly Sinusoid3DFamily Sine3D = new(Sinusoid3DRanges.Default, ScalarType.Float64);

    /// <summary>Draws and observes <paramref name="steps"/> meta-batches with synthetic losses; returns every parameter value drawn.</summary>
    private static List<double> Run(ITaskSampler sampler, int steps, int batch = 25)
    {
        var drawn = new List<double>();
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var draw = sampler.Draw(batch);
            drawn.AddRange(draw.Values);
            // A loss that depends on the task, so cells diverge: amplitude² plus a little of the step.
            var losses = new double[batch];
            for (var t = 0; t < batch; t++) losses[t] = draw.Values[t * 3] * draw.Values[t * 3] + 0.01 * s;
            sampler.Observe(draw, tensor(losses));
            if (draw.ImportanceWeights is not null) drawn.AddRange(draw.ImportanceWeights);
        }
        return drawn;
    }

    private static PriorityQueueOptions Options(SamplerKind kind) =>
        new() { Kind = kind, EpsilonStart = 0.5, EpsilonFinal = 0.1, EpsilonDecayRate = 1e-3 };

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void Identical_seeds_give_identical_draws_and_different_seeds_do_not(SamplerKind kind)
    {
        var a = Run(TaskSamplers.Create(Sine3D, Options(kind), 42), 30);
        var b = Run(TaskSamplers.Create(Sine3D, Options(kind), 42), 30);
        var c = Run(TaskSamplers.Create(Sine3D, Options(kind), 43), 30);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void Export_then_import_gives_identical_subsequent_draws(SamplerKind kind)
    {
        var original = TaskSamplers.Create(Sine3D, Options(kind), 7);
        Run(original, 20);
        var state = original.ExportState();
        var expected = Run(original, 20);

        var restored = TaskSamplers.Create(Sine3D, Options(kind), 12345);
        restored.ImportState(state);
        Assert.Equal(state.Draws, restored.Draws);
        Assert.Equal(expected, Run(restored, 20));
        Assert.Equal(original.Epsilon, restored.Epsilon);
    }

    [Fact]
    public void Import_rejects_a_state_of_another_regime()
    {
        var state = TaskSamplers.Create(Sine3D, Options(SamplerKind.Weighted), 1).ExportState();
        var other = TaskSamplers.Create(Sine3D, Options(SamplerKind.Delta), 1);
        var e = Assert.Throws<ArgumentException>(() => other.ImportState(state));
        Assert.Contains("weighted", e.Message);
    }

    [Fact]
    public void Observe_inserts_each_task_loss_into_its_cell_in_order()
    {
        var sampler = TaskSamplers.Create(Sine3D, Options(SamplerKind.Weighted), 3);
        var queue = sampler.Queue!;
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(25);
        var losses = Enumerable.Range(0, 25).Select(t => 0.1 * (t + 1)).ToArray();
        var before = queue.Losses.ToArray();
        sampler.Observe(draw, tensor(losses, ScalarType.Float32));
        var last = new Dictionary<int, int>();
        for (var t = 0; t < 25; t++) last[draw.Cells![t]] = t;
        foreach (var (cell, t) in last)
        {
            Assert.Equal(losses[t], queue.Losses[cell], 6); // float32 round trip
            Assert.Equal(draw.Cells!.Count(c => c == cell), queue.Counts[cell]);
        }
        Assert.Equal(25, queue.Inserts);
        var untouched = Enumerable.Range(0, queue.Cells).First(c => !last.ContainsKey(c));
        Assert.Equal(before[untouched], queue.Losses[untouched]);
    }

    [Fact]
    public void Observe_reads_strided_and_graph_carrying_loss_tensors_too()
    {
        var sampler = TaskSamplers.Create(Sine3D, Options(SamplerKind.Weighted), 3);
        var queue = sampler.Queue!;
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(3);
        var strided = tensor(new[] { 1.0, 9, 2, 9, 3, 9 }, [3, 2]).select(1, 0); // not contiguous
        sampler.Observe(draw, strided);
        Assert.Equal(3.0, queue.Losses[draw.Cells![2]]);
        var leaf = tensor(new[] { 4.0f, 5, 6 }).requires_grad_(true);
        var draw2 = sampler.Draw(3);
        sampler.Observe(draw2, leaf * 1);
        Assert.Equal(6.0, queue.Losses[draw2.Cells![2]]);
    }

    [Fact]
    public void Observe_rejects_losses_of_the_wrong_shape_or_not_finite()
    {
        var sampler = TaskSamplers.Create(Sine3D, Options(SamplerKind.Delta), 3);
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(4);
        Assert.Throws<ArgumentException>(() => sampler.Observe(draw, zeros(5, ScalarType.Float64)));
        Assert.Throws<ArgumentException>(() => sampler.Observe(draw, zeros(4, 1)));
        Assert.Throws<ArgumentException>(() => sampler.Observe(draw, tensor(new[] { 1.0, double.NaN, 1.0, 1.0 })));
        Assert.Equal(0, sampler.Queue!.Inserts);
    }

    [Fact]
    public void Drawn_parameters_stay_inside_their_cells_and_the_box()
    {
        var sampler = TaskSamplers.Create(Sine3D, Options(SamplerKind.ImportanceWeighted), 9);
        var queue = sampler.Queue!;
        for (var s = 0; s < 40; s++)
        {
            using var scope = NewDisposeScope();
            var draw = sampler.Draw(25);
            var tensorValues = draw.Parameters.data<double>().ToArray();
            Assert.Equal(draw.Values, tensorValues);
            for (var t = 0; t < 25; t++)
                for (var d = 0; d < 3; d++)
                    Assert.InRange(draw.Values[t * 3 + d], queue.CellLow(draw.Cells![t], d), queue.CellHigh(draw.Cells[t], d));
        }
        var uniform = TaskSamplers.Create(new SinusoidFamily(SinusoidRanges.Default), new PriorityQueueOptions(), 9);
        using var s2 = NewDisposeScope();
        var u = uniform.Draw(1000);
        Assert.Equal(ScalarType.Float32, u.Parameters.dtype);
        Assert.InRange(u.Parameters.select(1, 0).min().ToDouble(), 0.1, 0.2);
        Assert.InRange(u.Parameters.select(1, 0).max().ToDouble(), 4.9, 5.0);
        Assert.InRange(u.Parameters.select(1, 1).max().ToDouble(), Math.PI - 0.05, Math.PI + 1e-6);
    }

    [Fact]
    public void Importance_weights_feed_a_weighted_meta_step_and_task_losses_feed_back()
    {
        var family = new Sinusoid3DFamily(Sinusoid3DRanges.Default);
        var sampler = TaskSamplers.Create(family, new PriorityQueueOptions { Kind = SamplerKind.ImportanceWeighted }, 5);
        var network = Mlp.ForSinusoid();
        using var g = new Generator(5);
        using var theta = network.Initialize(WeightInit.Finn, g);
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        using var scope = NewDisposeScope();
        var draw = sampler.Draw(25);
        var episode = family.EpisodeFor(draw.Parameters, 10, 10, g);
        var step = maml.MetaStep(theta, episode, draw.Weights);
        var expected = (step.TaskLosses * draw.Weights!).mean().ToDouble();
        Assert.Equal(expected, step.MetaLoss.ToDouble(), 5);
        sampler.Observe(draw, step.TaskLosses);
        Assert.Equal(25, sampler.Queue!.Inserts);
    }

    [Fact]
    public void Metrics_report_queue_moments_epsilon_weights_and_rank_correlation()
    {
        var sampler = TaskSamplers.Create(Sine3D, Options(SamplerKind.EpsilonGreedy), 5);
        var start = SamplerMetrics.Of(sampler);
        Assert.True(double.IsNaN(start.CountLossSpearman)); // all counts 0: undefined
        Assert.Equal(0.5, start.Epsilon);
        Run(sampler, 40);
        var metrics = SamplerMetrics.Of(sampler);
        var (mean, std) = SamplerMetrics.MeanStd(sampler.Queue!.Losses);
        Assert.Equal(mean, metrics.QueueMean);
        Assert.Equal(std, metrics.QueueStd);
        Assert.InRange(metrics.CountLossSpearman, -1, 1);
        Assert.True(metrics.Epsilon < 0.5);
        Assert.Null(metrics.ImportanceWeightMean);

        var weighted = TaskSamplers.Create(Sine3D, Options(SamplerKind.ImportanceDelta), 5);
        using var scope = NewDisposeScope();
        var draw = weighted.Draw(25);
        Assert.Equal(draw.ImportanceWeights!.Average(), SamplerMetrics.Of(weighted, draw).ImportanceWeightMean);
        var uniform = SamplerMetrics.Of(TaskSamplers.Create(Sine3D, Options(SamplerKind.Uniform), 5));
        Assert.True(double.IsNaN(uniform.QueueMean));
        Assert.Null(uniform.Epsilon);
    }
}
