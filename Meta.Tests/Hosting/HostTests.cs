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
