using Meta.Experiments;
using Meta.Hosting;
using Meta.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Meta.Tests.Hosting;

[Collection(TorchCollection.Name)]
public sealed class HostTests
{
    [Fact]
    public async Task The_experiment_runs_as_a_hosted_service_and_its_instruments_reach_OpenTelemetry()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-host-" + Guid.NewGuid().ToString("N"));
        var exported = new List<MetricSnapshot>();
        var code = await MetaHost.RunAsync(
            ["sine-maml", "--iterations", "30", "--pretrain-iterations", "5", "--eval-tasks", "8", "--output", output],
            [SineMaml.Descriptor],
            builder => builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(exported)));

        Assert.Equal(0, code);
        var names = exported.Select(m => m.Name).ToHashSet();
        Assert.Contains("metalearn.outer.steps", names);
        Assert.Contains("metalearn.outer.step.duration", names);
        Assert.Contains("metalearn.sampler.tasks", names);
        Assert.Contains("metalearn.loss", names);
        Assert.All(exported, m => Assert.Equal(MetaTelemetry.MeterName, m.MeterName));

        var steps = exported.Last(m => m.Name == "metalearn.outer.steps").MetricPoints.Single();
        Assert.Equal(30, steps.GetSumLong());
        var tasks = exported.Last(m => m.Name == "metalearn.sampler.tasks").MetricPoints.Single();
        Assert.Equal(30 * 25, tasks.GetSumLong());
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in steps.Tags) tags.Add(tag);
        Assert.Contains(tags, t => t.Key == MetaTelemetry.ExperimentTag && (string?)t.Value == "sine-maml");

        var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        Assert.Equal(31, File.ReadAllLines(Path.Combine(folder, "metrics.csv")).Length);
        var summary = File.ReadAllText(Path.Combine(folder, "summary.md"));
        Assert.Contains("| meta-learned | 10 |", summary);
        Assert.Contains("| from scratch | 10 |", summary);
        Assert.Contains("| pre-trained | 10 |", summary);
        Directory.Delete(output, recursive: true);
    }
}

[Collection(TorchCollection.Name)]
public sealed class DiagnosticsTests
{
    [Fact]
    public async Task Each_iteration_writes_its_gradient_norm_and_the_algorithms_diagnostics_and_exports_them_as_gauges()
    {
        var output = Path.Combine(Path.GetTempPath(), "meta-diagnostics-" + Guid.NewGuid().ToString("N"));
        var exported = new List<MetricSnapshot>();
        var code = await MetaHost.RunAsync(
            ["cmp-imaml", "--iterations", "12", "--meta-batch", "4", "--pretrain-iterations", "2", "--eval-tasks", "4", "--meta-grad-clip", "1e-6", "--output", output],
            [Meta.Experiments.Algorithms.CompareImaml.Descriptor],
            builder => builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(exported)));

        Assert.Equal(0, code);
        var folder = Directory.GetDirectories(Path.Combine(output, "cmp-imaml")).Single();
        var lines = File.ReadAllLines(Path.Combine(folder, ExperimentRun.DiagnosticsFile));
        Assert.Equal(13, lines.Length);
        var header = lines[0].Split(',');
        Assert.Equal(["iteration", "gradient_norm"], header[..2]);
        Assert.Contains("cg.residual.max", header);
        Assert.Contains("cg.nonpositive.tasks", header);
        Assert.All(lines[1..], l => Assert.Equal(header.Length, l.Split(',').Length));
        Assert.All(lines[1..], l => Assert.True(double.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture) > 1e-6));

        var names = exported.Select(m => m.Name).ToHashSet();
        Assert.Contains("metalearn.outer.gradient.norm", names);
        Assert.Contains("metalearn.algorithm.diagnostic", names);
        var diagnosticNames = new HashSet<string>();
        foreach (var point in exported.Last(m => m.Name == "metalearn.algorithm.diagnostic").MetricPoints)
        {
            foreach (var tag in point.Tags)
            {
                if (tag.Key == MetaTelemetry.DiagnosticTag) diagnosticNames.Add((string)tag.Value!);
            }
        }
        Assert.Contains("cg.curvature.min", diagnosticNames);
        // A clip far below every norm clips every step, and says so.
        Assert.Equal(12, exported.Last(m => m.Name == "metalearn.outer.steps.clipped").MetricPoints.Single().GetSumLong());
        Assert.Contains("clipped to norm 1E-06 in 12 of 12", File.ReadAllText(Path.Combine(folder, "summary.md")));
        Directory.Delete(output, recursive: true);
    }
}
