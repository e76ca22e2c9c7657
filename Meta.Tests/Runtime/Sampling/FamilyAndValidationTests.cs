using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Sampling;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Sampling;

/// <summary>Continuous task families, the fixed validation grid and the heatmaps.</summary>
[Collection(TorchCollection.Name)]
public sealed class FamilyAndValidationTests
{
    [Fact]
    public void Sinusoid_family_exposes_amplitude_and_phase_and_EpisodeFor_equals_Episode()
    {
        var family = new SinusoidFamily(SinusoidRanges.Default, ScalarType.Float64);
        Assert.Equal(["amplitude", "phase"], family.Parameters.Select(p => p.Name));
        Assert.Equal(Math.PI, family.Parameters[1].Max);
        using var scope = NewDisposeScope();
        var parameters = tensor(new[] { 1.0, 0.5, 3.0, 2.0 }, [2, 2]);
        using var g1 = new Generator(4);
        using var g2 = new Generator(4);
        var viaParameters = family.EpisodeFor(parameters, 5, 6, g1);
        var direct = family.Episode(new SinusoidTasks(tensor(new[] { 1.0, 3.0 }), tensor(new[] { 0.5, 2.0 })), 5, 6, g2);
        Assert.True(allclose(viaParameters.QueryY, direct.QueryY, rtol: 0, atol: 0));
        Assert.True(allclose(viaParameters.SupportX, direct.SupportX, rtol: 0, atol: 0));
        Assert.Throws<ArgumentException>(() => family.EpisodeFor(zeros(3, 3, ScalarType.Float64), 5, 5, g1));
    }

    [Fact]
    public void Sinusoid3D_targets_are_A_sin_phi_plus_omega_x()
    {
        var family = new Sinusoid3DFamily(Sinusoid3DRanges.Default, ScalarType.Float64);
        Assert.Equal(["amplitude", "phase", "frequency"], family.Parameters.Select(p => p.Name));
        Assert.Equal(0.5, family.Parameters[2].Min);
        Assert.Equal(2.0, family.Parameters[2].Max);
        using var scope = NewDisposeScope();
        using var g = new Generator(8);
        var episode = family.EpisodeFor(tensor(new[] { 2.0, 0.3, 1.7 }, [1, 3]), 4, 3, g);
        Assert.Equal(new long[] { 1, 4, 1 }, episode.SupportX.shape);
        Assert.Equal(new long[] { 1, 3, 1 }, episode.QueryY.shape);
        var x = episode.SupportX.data<double>().ToArray();
        var y = episode.SupportY.data<double>().ToArray();
        for (var i = 0; i < 4; i++)
        {
            Assert.InRange(x[i], -5, 5);
            Assert.Equal(2.0 * Math.Sin(0.3 + 1.7 * x[i]), y[i], 12);
        }
        var tasks = family.Sample(500, g);
        Assert.InRange(tasks.Frequency.min().ToDouble(), 0.5, 0.6);
        Assert.InRange(tasks.Frequency.max().ToDouble(), 1.9, 2.0);
    }

    [Fact]
    public void Validation_grid_follows_the_seed_25_by_18_and_25_by_18_by_8()
    {
        using var g = new Generator(1);
        using var grid2 = new GridValidation(new SinusoidFamily(SinusoidRanges.Default), g);
        Assert.Equal(new[] { 25, 18 }, grid2.Shape);
        Assert.Equal(450, grid2.Tasks);
        Assert.Equal(0.1, grid2.Axes[0][0], 12);
        Assert.Equal(4.9, grid2.Axes[0][^1], 12);
        Assert.Equal(170 * Math.PI / 180, grid2.Axes[1][^1], 12);
        using var grid3 = new GridValidation(new Sinusoid3DFamily(Sinusoid3DRanges.Default), g);
        Assert.Equal(new[] { 25, 18, 8 }, grid3.Shape);
        Assert.Equal(3600, grid3.Tasks);
        Assert.Equal(1.9, grid3.Axes[2][^1], 12);
    }

    [Fact]
    public void Validation_adapts_every_grid_task_and_reports_mean_and_worst_tenth()
    {
        var family = new SinusoidFamily(SinusoidRanges.Default);
        var network = Mlp.ForSinusoid();
        using var g = new Generator(2);
        using var theta = network.Initialize(WeightInit.PyTorch, g);
        var maml = new Maml(network, 1, 0.01, firstOrder: false);
        using var grid = new GridValidation(family, g, chunk: 100); // chunks must not change the result
        var result = grid.Evaluate(maml, theta);
        Assert.Equal(450, result.Losses.Length);
        Assert.All(result.Losses, l => Assert.True(double.IsFinite(l) && l >= 0));
        Assert.Equal(result.Losses.Average(), result.Mean, 9);
        Assert.True(result.Worst10Mean >= result.Mean);
        Assert.Equal(result.Losses.OrderDescending().Take(45).Average(), result.Worst10Mean, 9);
        // A high-amplitude task is harder than a low-amplitude one for an unadapted network.
        Assert.True(result.Loss(24, 9) > result.Loss(0, 9));
        // Same data, same result, whatever the chunking; and adaptation helps on average.
        using var g2 = new Generator(2);
        using var theta2 = network.Initialize(WeightInit.PyTorch, g2);
        using var whole = new GridValidation(family, g2, adaptSteps: 5);
        Assert.Equal(result.Losses, whole.Evaluate(maml, theta).Losses);
        using var g3 = new Generator(2);
        network.Initialize(WeightInit.PyTorch, g3).Dispose();
        using var unadapted = new GridValidation(family, g3, adaptSteps: 0);
        Assert.True(unadapted.Evaluate(maml, theta).Mean > result.Mean);
    }

    [Fact]
    public void Worst_mean_takes_the_ceiling_of_a_tenth()
    {
        Assert.Equal(10.0, GridValidation.WorstMean([1, 2, 3, 10], 0.1));
        Assert.Equal(9.5, GridValidation.WorstMean([.. Enumerable.Range(0, 11).Select(i => (double)i)], 0.1)); // ⌈1.1⌉ = 2 values: 10, 9
    }

    [Fact]
    public void Heatmaps_are_written_as_png_for_2D_and_as_means_over_frequency_for_3D()
    {
        var folder = Path.Combine(Path.GetTempPath(), "meta-heatmaps-" + Guid.NewGuid().ToString("N"));
        try
        {
            var network = Mlp.ForSinusoid();
            using var g = new Generator(3);
            using var theta = network.Initialize(WeightInit.Finn, g);
            var maml = new Maml(network, 1, 0.01, firstOrder: false);
            foreach (var (family, prefix) in new (IContinuousTaskFamily, string)[]
                     { (new SinusoidFamily(SinusoidRanges.Default), "2d-"), (new Sinusoid3DFamily(Sinusoid3DRanges.Default), "3d-") })
            {
                using var grid = new GridValidation(family, g);
                var validation = grid.Evaluate(maml, theta);
                var sampler = TaskSamplers.Create(family, new PriorityQueueOptions { Kind = SamplerKind.Weighted }, 1);
                using (var scope = NewDisposeScope())
                {
                    var draw = sampler.Draw(25);
                    sampler.Observe(draw, ones(25));
                }
                var paths = Heatmaps.Write(folder, validation, sampler.Queue, prefix);
                Assert.Equal(3, paths.Count);
                foreach (var path in paths)
                {
                    var bytes = File.ReadAllBytes(path);
                    Assert.True(bytes.Length > 2000, path);
                    Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
                }
            }
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
