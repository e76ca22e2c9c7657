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
/// <remarks>
/// <see cref="RunAsync(string[], IReadOnlyList{ExperimentDescriptor}, Action{HostApplicationBuilder}?, CancellationToken)"/> is the program's one error boundary: whatever goes wrong — a bad configuration source, a bad
/// option, an unloadable native library, a full disk — ends as one line on stderr and an exit code
/// (<see cref="ExperimentExitCode"/>), never as a stack trace on the console.
/// </remarks>
public static class MetaHost
{
    /// <summary>How long a stop request (Ctrl+C, SIGTERM) waits for the experiment to reach a clean stop.</summary>
    public static TimeSpan ShutdownTimeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Parses <paramref name="args"/>, runs the experiment it names from <paramref name="experiments"/>, and returns the
    /// process exit code: 0 completed, 1 failed, 2 bad input, 130 stopped early. <paramref name="configure"/> lets tests
    /// and embedding applications add services (e.g. an in-memory metrics exporter) before the host is built.
    /// </summary>
    /// <remarks>
    /// Called by a program's <c>Main</c> with its own command line (and no <paramref name="configure"/>), on Linux with
    /// glibc, it first restarts the process with malloc set to keep freed memory (the same process id, arguments and open
    /// files; <see cref="TorchRuntime.Allocator"/>, README's Speed section), which halves a conv-4 meta-step's time.
    /// <c>META_MALLOC=system</c> in the environment turns that off.
    /// </remarks>
    public static Task<int> RunAsync(
        string[] args,
        IReadOnlyList<ExperimentDescriptor> experiments,
        Action<HostApplicationBuilder>? configure = null,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (configure is null) TorchRuntime.RestartWithKeptHeap(args);
        return RunAsync(args, experiments, configure, AppContext.BaseDirectory, Console.Out, Console.Error, cancel);
    }

    /// <summary>As the public overload, with the folder that holds appsettings.json and the console writers given.</summary>
    internal static async Task<int> RunAsync(
        string[] args,
        IReadOnlyList<ExperimentDescriptor> experiments,
        Action<HostApplicationBuilder>? configure,
        string contentRoot,
        TextWriter output,
        TextWriter error,
        CancellationToken cancel)
    {
        try
        {
            if (args.Length > 0 && args[0] == MetaCommandLine.CompareCommand && !args.Skip(1).Any(a => a is "--help" or "-h" or "-?"))
                return Comparison.Run(args, experiments, output, error);
            if (ModelCommands.Handles(args)) return ModelCommands.Run(args, output, error);
            var parsed = MetaCommandLine.Parse(args, experiments, output, error);
            if (parsed.ExitCode is { } code) return code;

            using var host = Build(parsed, experiments, configure, contentRoot);
            TorchRuntime.EnsureLoaded();
            var exitCode = host.Services.GetRequiredService<ExperimentExitCode>();
            await host.RunAsync(cancel).ConfigureAwait(false);
            if (!exitCode.Decided)
            {
                error.WriteLine($"error: the experiment did not stop within {ShutdownTimeout.TotalSeconds:0} s of the stop request; its last checkpoint stays");
                return ExperimentExitCode.Failure;
            }
            return exitCode.Value;
        }
        catch (Exception e)
        {
            var (code, line) = Faults.Describe(e, logFile: null);
            error.WriteLine("error: " + line);
            return code;
        }
    }

    /// <summary>
    /// Checks everything about <paramref name="args"/> that can be checked without training: the command line, the
    /// configuration sources, every option's value, and the sizes against memory. Writes one line to
    /// <paramref name="error"/> and returns the exit code when something is wrong; null when the run may start.
    /// </summary>
    public static int? Check(string[] args, IReadOnlyList<ExperimentDescriptor> experiments, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var parsed = MetaCommandLine.Parse(args, experiments, TextWriter.Null, error);
            if (parsed.ExitCode is { } code) return code;
            using var host = Build(parsed, experiments, configure: null, AppContext.BaseDirectory);
            return null;
        }
        catch (Exception e)
        {
            var (code, line) = Faults.Describe(e, logFile: null);
            error.WriteLine("error: " + line);
            return code;
        }
    }

    private static IHost Build(ParsedCommandLine parsed, IReadOnlyList<ExperimentDescriptor> experiments,
        Action<HostApplicationBuilder>? configure, string contentRoot)
    {
        var experiment = parsed.Experiment!;
        HostApplicationBuilder builder;
        try
        {
            // A run reads its configuration once: no file watcher on appsettings.json (each costs an inotify instance,
            // of which Linux allows 128 per user, so parallel runs and test processes would exhaust them).
            var configuration = new ConfigurationManager();
            configuration["hostBuilder:reloadConfigOnChange"] = "false";
            builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                Args = [],
                ContentRootPath = contentRoot,
                Configuration = configuration,
            });
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            throw ConfigurationSources.Rejected(e);
        }
        builder.Configuration.AddInMemoryCollection(parsed.Overrides);
        ConfigurationSources.Check(builder.Configuration, experiments);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        ConfigureLogging(builder);
        AddMetaTelemetry(builder, experiment);
        builder.Services.AddSingleton(experiment);
        builder.Services.AddSingleton<ExperimentExitCode>();
        builder.Services.AddSingleton<ExperimentRun>();
        builder.Services.AddHostedService<ExperimentHostedService>();
        experiment.Register(builder.Services, builder.Configuration.GetSection(experiment.ConfigurationSection));
        configure?.Invoke(builder);
        var host = builder.Build();
        try
        {
            ResourceLimits.Check(host.Services.GetRequiredService<IExperimentOptions>().Resolved());
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return host;
    }

    private static void ConfigureLogging(HostApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        // Under a live progress display, log lines go through Spectre.Console so that they appear above the bars.
        if (RunProgress.Live) builder.Logging.AddProvider(new LiveConsoleLoggerProvider());
        else
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
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>) variable is set; a Prometheus
    /// scrape endpoint when <c>Telemetry:PrometheusPort</c> (<c>--metrics-port</c>) is set, on
    /// <c>Telemetry:PrometheusHost</c> (loopback unless configured). Throws <see cref="OptionException"/> for a value
    /// that is not true/false or not an absolute http(s) URL, and for a bad port or one already in use.
    /// </summary>
    public static void AddMetaTelemetry(HostApplicationBuilder builder, ExperimentDescriptor experiment)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(experiment);
        builder.Services.AddSingleton<MetaTrainingMetrics>();
        var console = ConfigurationSources.Boolean(builder.Configuration, "Telemetry:Console");
        var otlp = ConfigurationSources.Endpoint(builder.Configuration, "OTEL_EXPORTER_OTLP_ENDPOINT")
                   | ConfigurationSources.Endpoint(builder.Configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        var prometheus = PrometheusEndpoint.From(builder.Configuration);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("meta", serviceInstanceId: Environment.MachineName)
                .AddAttributes([new(MetaTelemetry.ExperimentTag, experiment.Name)]))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(MetaTelemetry.MeterName);
                if (console) metrics.AddConsoleExporter();
                if (otlp) metrics.AddOtlpExporter();
                if (prometheus is { } p)
                    metrics.AddPrometheusHttpListener(o =>
                    {
                        o.Host = p.Host;
                        o.Port = p.Port;
                    });
            });
    }
}
