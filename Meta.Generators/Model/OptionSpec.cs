namespace Meta.Generators.Model;

/// <summary>The CLR type of an option's value; it decides the property type, the reader call and the option kind.</summary>
internal enum OptionType
{
    /// <summary><c>int</c>, read as a whole number.</summary>
    Int32,
    /// <summary><c>long</c>, read as a whole number.</summary>
    Int64,
    /// <summary><c>double</c>, read as a finite number.</summary>
    Double,
    /// <summary><c>bool</c>.</summary>
    Boolean,
    /// <summary><c>string</c>.</summary>
    String,
    /// <summary>An enum (see <see cref="OptionSpec.EnumType"/>), read as one of its kebab-case names.</summary>
    Enum,
    /// <summary><c>int[]</c>, read as whole numbers separated by commas.</summary>
    Int32List,
}

/// <summary>How the generated <c>Validate()</c> checks an option.</summary>
internal enum OptionCheckKind
{
    /// <summary>No check.</summary>
    None,
    /// <summary>A whole number at least <see cref="OptionCheck.Minimum"/>.</summary>
    AtLeast,
    /// <summary>A finite number above 0.</summary>
    Positive,
    /// <summary>A finite number at least 0.</summary>
    NonNegative,
    /// <summary>Above the option named by <see cref="OptionCheck.LowerKey"/> (the upper end of a range).</summary>
    Above,
    /// <summary>Text that is not empty.</summary>
    NotEmpty,
}

/// <summary>One check of the generated <c>Validate()</c>.</summary>
/// <param name="Kind">What is checked.</param>
/// <param name="Minimum">For <see cref="OptionCheckKind.AtLeast"/>: the smallest accepted value.</param>
/// <param name="LowerKey">For <see cref="OptionCheckKind.Above"/>: the key of the range's lower end.</param>
/// <param name="LowerFlag">For <see cref="OptionCheckKind.Above"/>: the flag of the range's lower end.</param>
internal readonly record struct OptionCheck(OptionCheckKind Kind, int Minimum = 0, string? LowerKey = null, string? LowerFlag = null)
{
    /// <summary>No check.</summary>
    public static OptionCheck None => new(OptionCheckKind.None);

    /// <summary>At least <paramref name="minimum"/>.</summary>
    public static OptionCheck AtLeast(int minimum) => new(OptionCheckKind.AtLeast, minimum);

    /// <summary>A finite number above 0.</summary>
    public static OptionCheck Positive => new(OptionCheckKind.Positive);

    /// <summary>A finite number at least 0.</summary>
    public static OptionCheck NonNegative => new(OptionCheckKind.NonNegative);

    /// <summary>Non-empty text.</summary>
    public static OptionCheck NotEmpty => new(OptionCheckKind.NotEmpty);

    /// <summary>Above the option <paramref name="lower"/>.</summary>
    public static OptionCheck Above(OptionSpec lower) => new(OptionCheckKind.Above, LowerKey: lower.Key, LowerFlag: lower.Flag);
}

/// <summary>
/// One knob of an experiment: a property of the generated <c>Options</c>, a <c>--flag</c> on the command line and a key in
/// configuration.
/// </summary>
/// <param name="Key">The property name and configuration key, e.g. <c>InnerSteps</c>.</param>
/// <param name="Flag">The command-line name without dashes, e.g. <c>inner-steps</c>.</param>
/// <param name="Type">The value's type.</param>
/// <param name="EnumType">For <see cref="OptionType.Enum"/>: the enum; otherwise null.</param>
/// <param name="Choices">For <see cref="OptionType.Enum"/>: the accepted names in kebab case; otherwise empty.</param>
/// <param name="DefaultExpression">The C# expression of the default value: a literal when an attribute set it, otherwise
/// a reference to the runtime's default (e.g. <c>global::Meta.ExperimentDefaults.MetaBatch</c>).</param>
/// <param name="Description">One sentence for the XML doc and <c>--help</c>, ending with a period.</param>
/// <param name="Check">What the generated <c>Validate()</c> requires of the value.</param>
/// <param name="Component">The role of the component whose property it is ("Tasks", "Network", "Algorithm"), or null for
/// an option of the loop itself.</param>
internal sealed record OptionSpec(
    string Key,
    string Flag,
    OptionType Type,
    TypeRef? EnumType,
    EquatableArray<string> Choices,
    string DefaultExpression,
    string Description,
    OptionCheck Check,
    string? Component = null);
