using Meta.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Meta.Hosting;

/// <summary>
/// Builds the generic host for one experiment: configuration (appsettings.json, environment variables, the command
/// line), one-line console logging, OpenTelemetry metrics, and the experiment as a background service.
/// </summary>
public static class MetaHost
{
    /// <summary>
    /// Parses <paramref name="args"/>, runs the experiment it names from <paramref name="experiments"/>, and returns the
    /// process exit code: 0 completed, 1 failed, 2 bad input, 130 stopped early. <paramref name="configure"/> lets tests
    /// and embedding applications add services (e.g. an in-memory metrics exporter) before the host is built.
    /// </summary>
    public static async Task<int> RunAsync(
        string[] args,
        IReadOnlyList<ExperimentDescriptor> experiments,
        Action<HostApplicationBuilder>? configure = null,
        CancellationToken cancel = default)
    {
        if (args.Length > 0 && args[0] == "compare") return Comparison.Run(args, experiments, Console.Out, Console.Error);
        var parsed = MetaCommandLine.Parse(args, experiments, Console.Out, Console.Error);
        if (parsed.ExitCode is { } code) return code;
        var experiment = parsed.Experiment!;

        IHost host;
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = [],
                ContentRootPath = AppContext.BaseDirectory,
            });
            builder.Configuration.AddInMemoryCollection(parsed.Overrides);
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
            ConfigureLogging(builder);
            AddMetaTelemetry(builder, experiment);
            builder.Services.AddSingleton(experiment);
            builder.Services.AddSingleton<ExperimentExitCode>();
            builder.Services.AddSingleton<ExperimentRun>();
            builder.Services.AddHostedService<ExperimentHostedService>();
            experiment.Register(builder.Services, builder.Configuration.GetSection(experiment.ConfigurationSection));
            configure?.Invoke(builder);
            host = builder.Build();
        }
        catch (OptionException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return ExperimentExitCode.BadInput;
        }

        using (host)
        {
            try
            {
                TorchRuntime.EnsureLoaded();
            }
            catch (InvalidOperationException e)
            {
                // The native library did not load: one line naming the cause and the fix, not the loader's trace.
                Console.Error.WriteLine("error: " + e.Message);
                return ExperimentExitCode.Failure;
            }
            var exitCode = host.Services.GetRequiredService<ExperimentExitCode>();
            await host.RunAsync(cancel).ConfigureAwait(false);
            return exitCode.Value;
        }
    }

    private static void ConfigureLogging(HostApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
    }

    /// <summary>
    /// Registers <see cref="MetaTrainingMetrics"/> and OpenTelemetry metrics for the <see cref="MetaTelemetry.MeterName"/>
    /// meter. Exporters are configuration: <c>Telemetry:Console=true</c> for the console exporter; OTLP when the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>) variable is set.
    /// </summary>
    public static void AddMetaTelemetry(HostApplicationBuilder builder, ExperimentDescriptor experiment)
    {
        builder.Services.AddSingleton<MetaTrainingMetrics>();
        var console = builder.Configuration.GetValue("Telemetry:Console", false);
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
                   || !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("meta", serviceInstanceId: Environment.MachineName)
                .AddAttributes([new(MetaTelemetry.ExperimentTag, experiment.Name)]))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MetaTelemetry.MeterName);
                if (console) metrics.AddConsoleExporter();
                if (otlp) metrics.AddOtlpExporter();
            });
    }
}
