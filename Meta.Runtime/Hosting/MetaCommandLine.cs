using System.CommandLine;
using System.CommandLine.Help;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

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
    /// <summary>The commands besides the experiments, as <c>--help</c> lists them.</summary>
    public const string ListCommand = "list";

    /// <summary>The comparison command (handled by <see cref="Comparison"/>).</summary>
    public const string CompareCommand = "compare";

    /// <summary>Parses <paramref name="args"/>; writes help and the experiment list to <paramref name="output"/> and one-line errors to <paramref name="error"/>.</summary>
    public static ParsedCommandLine Parse(string[] args, IReadOnlyList<ExperimentDescriptor> experiments, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(experiments);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var empty = new Dictionary<string, string?>();
        if (args.Length == 0 || args is [ListCommand])
        {
            WriteList(experiments, output);
            return new ParsedCommandLine(null, empty, ExperimentExitCode.Success);
        }
        if (!args[0].StartsWith('-') && args[0] is not (ListCommand or CompareCommand) && experiments.All(e => e.Name != args[0]))
        {
            error.WriteLine($"error: unknown experiment '{args[0]}'; run without arguments (or with '{ListCommand}') for the {experiments.Count} experiments");
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }

        // Defaults are shown in an experiment's --help; binding the defaults of every experiment is only worth it then.
        var helped = args.Any(IsHelp) ? experiments.FirstOrDefault(e => e.Name == args[0]) : null;
        var root = new RootCommand(
            "Meta: meta-learning experiments. Run one by name; without arguments (or with 'list') the experiments are listed. " +
            "Every option can also be set in appsettings.json (Experiments:<name>:<Key>) or in the environment, " +
            "e.g. env 'Experiments__sine-maml__InnerSteps=5' dotnet run --project Meta.Experiments -- sine-maml.");
        var metricsPort = new Option<string>("--metrics-port")
        {
            Description = "Serve Prometheus metrics on http://127.0.0.1:<port>/metrics while the run lasts (configuration Telemetry:PrometheusPort; Telemetry:PrometheusHost for another address).",
            HelpName = "port",
            Recursive = true,
        };
        root.Options.Add(metricsPort);
        root.Subcommands.Add(new Command(ListCommand, "List the experiments: name, algorithm and description (also what no arguments print)."));
        var compare = new Command(CompareCommand,
            "Run each experiment once per seed (1…N), each in its own process, with the same options; write comparison.md " +
            "(mean ± 95 % CI over seeds, median, diverged test tasks per seed) and comparison.png under <output>/compare/<timestamp>/. " +
            "Failed runs are listed, not averaged.");
        compare.Arguments.Add(new Argument<string[]>("experiment") { Description = "Experiments to compare; * matches any characters (quote it: 'cmp-*').", Arity = ArgumentArity.OneOrMore });
        compare.Options.Add(new Option<string>("--seeds") { Description = "Runs per experiment, seeds 1…N (default: 3).", HelpName = "N" });
        compare.Options.Add(new Option<string>("--jobs") { Description = "Runs at a time, each in its own process on one libtorch thread (default: 1; at most the number of cores).", HelpName = "N" });
        compare.Options.Add(new Option<string>("--output") { Description = "Root folder of the runs and the comparison (default: runs).", HelpName = "folder" });
        root.Subcommands.Add(compare);
        // Handled before this parser (ModelCommands); listed so that --help names every command.
        root.Subcommands.Add(new Command("adapt",
            "Adapt a trained run to new support data and predict: adapt <run folder|runs/<experiment>/latest> --support support.csv --predict x.csv [--steps N] [--output predictions.csv]."));
        root.Subcommands.Add(new Command("export",
            "Export a trained run's parameters: export <run folder> --format safetensors [--output file]."));

        var options = new Dictionary<ExperimentDescriptor, List<(OptionDescriptor Descriptor, Option<string> Option)>>();
        foreach (var experiment in experiments)
        {
            var defaults = experiment == helped ? Defaults(experiment) : null;
            var command = new Command(experiment.Name, experiment.Description);
            var list = new List<(OptionDescriptor, Option<string>)>();
            foreach (var descriptor in experiment.Options)
            {
                var description = descriptor.Description;
                if (defaults is not null && defaults.TryGetValue(descriptor.Key, out var value) && value.Length > 0)
                    description = $"{description.TrimEnd()} [default: {value}]";
                var option = new Option<string>(descriptor.Flag)
                {
                    Description = description,
                    HelpName = HelpName(descriptor),
                };
                // A boolean flag alone means true: --first-order --iterations 10.
                if (descriptor.Kind == OptionKind.Boolean) option.Arity = ArgumentArity.ZeroOrOne;
                command.Options.Add(option);
                list.Add((descriptor, option));
            }
            root.Subcommands.Add(command);
            options[experiment] = list;
        }

        if (Misplaced(args, experiments) is { } misplaced)
        {
            error.WriteLine("error: " + misplaced);
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }

        var result = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false });
        var version = root.Options.OfType<VersionOption>().FirstOrDefault();
        if (result.Errors.Count > 0)
        {
            var first = result.Errors[0].Message;
            var where = result.CommandResult.Command is { } c && c != root ? $" for {c.Name}" : "";
            var unknown = result.UnmatchedTokens.FirstOrDefault(t => t.StartsWith('-'));
            error.WriteLine(unknown is not null
                ? $"error: unknown option '{unknown}'{where}; options are spelt --name (run with --help for the accepted options)"
                : $"error: {first.TrimEnd('.')}{where}; run with --help for the accepted options");
            return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
        }
        var asksVersion = version is not null && result.GetResult(version) is not null;
        if (result.Action is HelpAction || asksVersion || result.CommandResult.Command == root)
        {
            result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return new ParsedCommandLine(null, empty, result.Action is HelpAction || asksVersion ? ExperimentExitCode.Success : ExperimentExitCode.BadInput);
        }
        if (result.CommandResult.Command.Name == ListCommand)
        {
            WriteList(experiments, output);
            return new ParsedCommandLine(null, empty, ExperimentExitCode.Success);
        }

        var chosen = experiments.First(e => e.Name == result.CommandResult.Command.Name);
        var overrides = new Dictionary<string, string?>();
        foreach (var (descriptor, option) in options[chosen])
        {
            if (result.GetResult(option) is null) continue;
            var value = result.GetValue(option);
            if (descriptor.Kind == OptionKind.Boolean && value is null) value = "true";   // a bare flag
            if (string.IsNullOrWhiteSpace(value))
            {
                // An empty value is never what was meant (--resume '' would otherwise quietly start a fresh run).
                error.WriteLine($"error: {descriptor.Flag}: an empty value is not accepted; expected {Expected(descriptor)}");
                return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
            }
            overrides[$"{chosen.ConfigurationSection}:{descriptor.Key}"] = value;
        }
        if (result.GetResult(metricsPort) is not null) overrides[Meta.Telemetry.PrometheusEndpoint.PortKey] = result.GetValue(metricsPort);
        return new ParsedCommandLine(chosen, overrides, null);
    }

    /// <summary>Writes the experiments as a table: name, algorithm, description; then how to run one.</summary>
    public static void WriteList(IReadOnlyList<ExperimentDescriptor> experiments, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(experiments);
        ArgumentNullException.ThrowIfNull(output);
        var nameWidth = Math.Max("experiment".Length, experiments.Max(e => e.Name.Length));
        var algorithmWidth = Math.Max("algorithm".Length, experiments.Max(e => e.Algorithm.Length));
        output.WriteLine($"{"experiment".PadRight(nameWidth)}  {"algorithm".PadRight(algorithmWidth)}  description");
        foreach (var e in experiments.OrderBy(e => e.Name, StringComparer.Ordinal))
            output.WriteLine($"{e.Name.PadRight(nameWidth)}  {e.Algorithm.PadRight(algorithmWidth)}  {e.Description}");
        output.WriteLine();
        output.WriteLine("Run one with: dotnet run --project Meta.Experiments -- <experiment> [--option value]…  (<experiment> --help lists its options and defaults;");
        output.WriteLine("compare <experiment>… --seeds N runs several side by side; adapt and export use a trained run; --help shows every command)");
    }

    private static bool IsHelp(string arg) => arg is "--help" or "-h" or "-?";

    /// <summary>The compiled defaults of <paramref name="experiment"/>'s options (empty if they cannot be bound without configuration).</summary>
    private static Dictionary<string, string> Defaults(ExperimentDescriptor experiment)
    {
        try
        {
            var services = new ServiceCollection();
            experiment.Register(services, new ConfigurationBuilder().Build().GetSection(experiment.ConfigurationSection));
            using var provider = services.BuildServiceProvider();
            return provider.GetService<IExperimentOptions>()?.Resolved().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) ?? [];
        }
        catch (Exception e) when (e is OptionException or ArgumentException or InvalidOperationException)
        {
            return [];
        }
    }

    /// <summary>
    /// An option directly followed by another of the experiment's options (<c>--iterations --seed 3</c>) lost its value:
    /// say so, rather than what the parser would report (the stray <c>3</c>).
    /// </summary>
    private static string? Misplaced(string[] args, IReadOnlyList<ExperimentDescriptor> experiments)
    {
        var experiment = experiments.FirstOrDefault(e => e.Name == args[0]);
        if (experiment is null) return null;
        var flags = experiment.Options.ToDictionary(o => o.Flag, StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            if (!flags.TryGetValue(args[i], out var option) || option.Kind == OptionKind.Boolean) continue;   // a bare flag is true
            var next = i + 1 < args.Length ? args[i + 1] : null;
            if (next is null)
                return $"{option.Flag} needs a value; expected {Expected(option)}";
            if (next.StartsWith("--", StringComparison.Ordinal) && (flags.ContainsKey(next) || next is "--help" or "--version"))
                return $"{option.Flag} needs a value before {next}; expected {Expected(option)}";
            i++;
        }
        return null;
    }

    private static string Expected(OptionDescriptor option) => option.Kind switch
    {
        OptionKind.Integer => "a whole number",
        OptionKind.Number => "a number such as 0.001",
        OptionKind.Boolean => "true or false",
        OptionKind.Choice => "one of " + string.Join(", ", option.Choices),
        _ when option.Key == "Resume" => "'latest', a run folder or a checkpoint file",
        _ => "a path or a name",
    };

    private static string HelpName(OptionDescriptor option) => option.Kind switch
    {
        OptionKind.Integer => "integer",
        OptionKind.Number => "number",
        OptionKind.Boolean => "true|false (alone: true)",
        OptionKind.Choice => string.Join("|", option.Choices),
        _ => "text",
    };
}
