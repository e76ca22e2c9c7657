using System.CommandLine;
using System.CommandLine.Help;

namespace Meta.Hosting;

/// <summary>What the command line asked for.</summary>
/// <param name="Experiment">The experiment to run, when the command line names one and parses.</param>
/// <param name="Overrides">Configuration values set on the command line (<c>Experiments:&lt;name&gt;:&lt;Key&gt;</c>).</param>
/// <param name="ExitCode">Set when there is nothing to run: help was shown (0) or the command line was bad (2).</param>
public sealed record ParsedCommandLine(
    ExperimentDescriptor? Experiment,
    IReadOnlyDictionary<string, string?> Overrides,
    int? ExitCode);

/// <summary>
/// The command line: <c>&lt;experiment&gt; [--option value]…</c>, one subcommand per generated experiment and one option per
/// knob (System.CommandLine). Values are handed to configuration as text, so command line, appsettings.json and
/// environment variables share one parser and one set of error messages.
/// </summary>
public static class MetaCommandLine
{
    /// <summary>Parses <paramref name="args"/>; writes help to <paramref name="output"/> and one-line errors to <paramref name="error"/>.</summary>
    public static ParsedCommandLine Parse(string[] args, IReadOnlyList<ExperimentDescriptor> experiments, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Meta: meta-learning experiments. Run one by name; every option can also be set in appsettings.json or as an environment variable Experiments__<name>__<Key>.");
        var metricsPort = new Option<string>("--metrics-port")
        {
            Description = "Serve Prometheus metrics on http://127.0.0.1:<port>/metrics while the run lasts (configuration Telemetry:PrometheusPort; Telemetry:PrometheusHost for another address).",
            HelpName = "port",
            Recursive = true,
        };
        root.Options.Add(metricsPort);
        var options = new Dictionary<ExperimentDescriptor, List<(OptionDescriptor Descriptor, Option<string> Option)>>();
        foreach (var experiment in experiments)
        {
            var command = new Command(experiment.Name, experiment.Description);
            var list = new List<(OptionDescriptor, Option<string>)>();
            foreach (var descriptor in experiment.Options)
            {
                var option = new Option<string>(descriptor.Flag)
                {
                    Description = descriptor.Description,
                    HelpName = HelpName(descriptor),
                };
                command.Options.Add(option);
                list.Add((descriptor, option));
            }
            root.Subcommands.Add(command);
            options[experiment] = list;
        }

        var empty = new Dictionary<string, string?>();
        if (args.Length == 0)
        {
            error.WriteLine("error: name an experiment to run; accepted: " + string.Join(", ", experiments.Select(e => e.Name)) + " (see --help)");
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }
        if (!args[0].StartsWith('-') && experiments.All(e => e.Name != args[0]))
        {
            error.WriteLine($"error: unknown experiment '{args[0]}'; accepted: {string.Join(", ", experiments.Select(e => e.Name))}");
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }

        var result = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false });
        if (result.Errors.Count > 0)
        {
            var first = result.Errors[0].Message;
            var where = result.CommandResult.Command is { } c && c != root ? $" for {c.Name}" : "";
            error.WriteLine($"error: {first.TrimEnd('.')}{where}; run with --help for the accepted options");
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }
        if (result.Action is HelpAction || result.CommandResult.Command == root)
        {
            result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return new ParsedCommandLine(null, empty, result.Action is HelpAction ? ExperimentExitCode.Success : ExperimentExitCode.BadInput);
        }

        var chosen = experiments.First(e => e.Name == result.CommandResult.Command.Name);
        var overrides = new Dictionary<string, string?>();
        foreach (var (descriptor, option) in options[chosen])
        {
            if (result.GetResult(option) is null) continue;
            overrides[$"{chosen.ConfigurationSection}:{descriptor.Key}"] = result.GetValue(option);
        }
        if (result.GetResult(metricsPort) is not null) overrides[Meta.Telemetry.PrometheusEndpoint.PortKey] = result.GetValue(metricsPort);
        return new ParsedCommandLine(chosen, overrides, null);
    }

    private static string HelpName(OptionDescriptor option) => option.Kind switch
    {
        OptionKind.Integer => "integer",
        OptionKind.Number => "number",
        OptionKind.Boolean => "true|false",
        OptionKind.Choice => string.Join("|", option.Choices),
        _ => "text",
    };
}
