using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Meta.Tests.Hosting;

/// <summary>
/// The opt-in scrape endpoint end to end: a real Prometheus server (Debian's <c>prometheus</c>; skipped visibly without
/// it) scrapes a sine-maml run started with <c>--metrics-port</c>, and its HTTP query API shows the outer-step counter
/// rising and the loss gauge present. The run is then stopped with SIGINT.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PrometheusTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-prom-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [SkippableFact]
    public async Task A_real_prometheus_scrapes_the_outer_step_counter_and_the_loss()
    {
        OptionalParts.RequirePrometheus();
        Directory.CreateDirectory(_root);
        var (metricsPort, prometheusPort) = (FreePort(), FreePort());
        var config = Path.Combine(_root, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: meta
                static_configs:
                  - targets: ['127.0.0.1:{metricsPort}']
            """);
        var info = new ProcessStartInfo(OptionalParts.Prometheus)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(_root, "tsdb"),
                     $"--web.listen-address=127.0.0.1:{prometheusPort}" })
            info.ArgumentList.Add(a);
        using var prometheus = Process.Start(info)!;
        _ = prometheus.StandardOutput.ReadToEndAsync();
        var prometheusLog = prometheus.StandardError.ReadToEndAsync();
        using var run = ExperimentProcess.Start(["sine-maml", "--iterations", "1000000", "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture),
            "--output", Path.Combine(_root, "runs")]);
        var runOutput = run.StandardOutput.ReadToEndAsync();
        var runError = run.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{prometheusPort}/"), Timeout = TimeSpan.FromSeconds(5) };
            var first = await WaitFor(http, "metalearn_outer_steps_total", v => v > 0, TimeSpan.FromSeconds(60));
            Assert.True(first is not null, "Prometheus never scraped metalearn_outer_steps_total; its log:\n" + Tail(prometheusLog));
            var later = await WaitFor(http, "metalearn_outer_steps_total", v => v > first!.Value, TimeSpan.FromSeconds(30));
            Assert.True(later > first, $"metalearn_outer_steps_total did not rise past {first}");
            var loss = await WaitFor(http, "metalearn_loss{metalearn_phase=\"outer\",metalearn_experiment_name=\"sine-maml\"}", double.IsFinite, TimeSpan.FromSeconds(10));
            Assert.True(loss is > 0, $"the loss gauge is missing or not positive: {loss}");
        }
        finally
        {
            if (!run.HasExited)
            {
                using (var kill = Process.Start("kill", ["-INT", run.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
                // A stop is honoured within 30 s of training time; on a loaded machine allow twice that, and if it still
                // runs, kill it and wait, so that the exit code below is defined (the assertion then names it).
                if (!run.WaitForExit(60_000))
                {
                    run.Kill(entireProcessTree: true);
                    run.WaitForExit();
                }
            }
            prometheus.Kill();
            prometheus.WaitForExit(10_000);
        }
        Assert.True(run.ExitCode == 130, $"the run exited {run.ExitCode}: {await runError}{await runOutput}");
    }

    /// <summary>Polls the instant-query API until <paramref name="query"/> has a sample accepted by <paramref name="accept"/>.</summary>
    private static async Task<double?> WaitFor(HttpClient http, string query, Func<double, bool> accept, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync("api/v1/query?query=" + Uri.EscapeDataString(query)));
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() > 0)
                {
                    var value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                    if (accept(value)) return value;
                }
            }
            catch (HttpRequestException) { }           // the server is still starting
            catch (TaskCanceledException) { }
            await Task.Delay(500);
        }
        return null;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string Tail(Task<string> log) => log.IsCompleted ? log.Result[^Math.Min(2000, log.Result.Length)..] : "(still running)";
}
