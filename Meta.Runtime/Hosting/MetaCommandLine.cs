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

        var chosen = experiments.First(e => e.Name == result.CommandResult.Command.Name);
        var overrides = new Dictionary<string, string?>();
        foreach (var (descriptor, option) in options[chosen])
        {
            if (result.GetResult(option) is null) continue;
            var value = result.GetValue(option);
            if (string.IsNullOrWhiteSpace(value))
            {
                // An empty value is never what was meant (--resume '' would otherwise quietly start a fresh run).
                error.WriteLine($"error: {descriptor.Flag}: an empty value is not accepted; expected {Expected(descriptor)}");
                return new ParsedCommandLine(null, empty, ExperimentExitCode.BadInput);
            }
            overrides[$"{chosen.ConfigurationSection}:{descriptor.Key}"] = value;
        }
        return new ParsedCommandLine(chosen, overrides, null);
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
            if (!flags.TryGetValue(args[i], out var option)) continue;
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
        OptionKind.Boolean => "true|false",
        OptionKind.Choice => string.Join("|", option.Choices),
        _ => "text",
    };
}
