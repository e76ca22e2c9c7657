using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Meta.Hosting;

/// <summary>The kind of value an option takes; used for parsing, help text and error messages.</summary>
public enum OptionKind
{
    /// <summary>A whole number.</summary>
    Integer,
    /// <summary>A real number (invariant culture, e.g. 0.001 or 1e-3).</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>Free text (paths, names).</summary>
    Text,
    /// <summary>One of a fixed set of names (see <see cref="OptionDescriptor.Choices"/>).</summary>
    Choice,
    /// <summary>Whole numbers separated by commas, e.g. <c>40,40</c> (layer widths).</summary>
    IntegerList,
}

/// <summary>
/// One knob of an experiment: settable as <c>--name value</c> on the command line and as
/// <c>Experiments:&lt;experiment&gt;:&lt;Key&gt;</c> in configuration (appsettings.json, environment variables).
/// </summary>
/// <param name="Name">The command-line name without dashes, kebab case (<c>inner-steps</c>).</param>
/// <param name="Key">The configuration key and property name (<c>InnerSteps</c>).</param>
/// <param name="Kind">The kind of value.</param>
/// <param name="Description">One line for <c>--help</c>.</param>
/// <param name="Choices">For <see cref="OptionKind.Choice"/>: the accepted names; otherwise empty.</param>
public sealed record OptionDescriptor(string Name, string Key, OptionKind Kind, string Description, IReadOnlyList<string> Choices)
{
    /// <summary>Creates a descriptor for a non-choice option.</summary>
    public OptionDescriptor(string name, string key, OptionKind kind, string description)
        : this(name, key, kind, description, []) { }

    /// <summary>The option as typed on the command line.</summary>
    public string Flag => "--" + Name;
}

/// <summary>What the generator knows about one experiment, enough to parse its command line and register it.</summary>
/// <param name="Name">The experiment's command-line name (<c>sine-maml</c>).</param>
/// <param name="Description">One sentence.</param>
/// <param name="Algorithm">The algorithm's display name, used as a metric tag.</param>
/// <param name="Options">Every option, in declaration order.</param>
/// <param name="Register">Binds and validates the options from configuration, then registers the trainer; throws
/// <see cref="OptionException"/> for a bad value.</param>
public sealed record ExperimentDescriptor(
    string Name,
    string Description,
    string Algorithm,
    IReadOnlyList<OptionDescriptor> Options,
    Action<IServiceCollection, IConfiguration> Register)
{
    /// <summary>The configuration section that holds this experiment's options.</summary>
    public string ConfigurationSection => ConfigurationPath.Combine("Experiments", Name);
}

/// <summary>A generated experiment's options: validated, and printable as the resolved configuration of a run.</summary>
public interface IExperimentOptions
{
    /// <summary>Throws <see cref="OptionException"/> naming the first option whose value is not accepted.</summary>
    void Validate();

    /// <summary>Every option with its resolved value, formatted invariantly, in declaration order.</summary>
    IReadOnlyList<KeyValuePair<string, string>> Resolved();
}

/// <summary>A generated experiment's training loop.</summary>
public interface IExperimentTrainer
{
    /// <summary>Trains, evaluates and writes the run folder. Returns at an iteration boundary once <paramref name="cancel"/> fires.</summary>
    RunOutcome Run(CancellationToken cancel);
}

/// <summary>How a run ended.</summary>
public enum RunOutcome
{
    /// <summary>All iterations ran and the evaluation was written.</summary>
    Completed,
    /// <summary>Stopped early on request (Ctrl+C, SIGTERM) at an iteration boundary.</summary>
    Stopped,
}
