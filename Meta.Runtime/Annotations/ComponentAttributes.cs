namespace Meta;

/// <summary>
/// Marks a public settable property of a task family, network or algorithm definition as an experiment option: the
/// generator gives it a command-line flag (<c>--kebab-case-name</c>), a configuration key (the property name), help text
/// and the checks below. Supported types: <c>int</c>, <c>long</c>, <c>double</c>, <c>bool</c>, <c>string</c>, enums and
/// <c>int[]</c> (written <c>40,40</c>). The default is the property's initial value.
/// </summary>
/// <param name="description">One sentence for <c>--help</c>, ending with a period.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class OptionAttribute(string description) : Attribute
{
    /// <summary>The help text.</summary>
    public string Description { get; } = description;

    /// <summary>Whole numbers (and each element of an <c>int[]</c>): the smallest accepted value.</summary>
    public long Minimum { get; set; } = long.MinValue;

    /// <summary>Numbers: only finite values above 0 are accepted.</summary>
    public bool Positive { get; set; }

    /// <summary>Numbers: only finite values ≥ 0 are accepted.</summary>
    public bool NonNegative { get; set; }

    /// <summary>The name of another option of the same component this one must be above (the upper end of a range).</summary>
    public string? Above { get; set; }

    /// <summary>Text: the empty string is not accepted.</summary>
    public bool NotEmpty { get; set; }

    /// <summary>
    /// The value a run description written before this option existed (a <c>model.json</c> without it) gets, when that is
    /// not the option's current default: e.g. a safeguard that is on by default but changes how saved meta-parameters are
    /// read. Null: such files get the current default.
    /// </summary>
    public object? WhenAbsent { get; set; }
}

/// <summary>
/// Declares the experiment's task family: <typeparamref name="T"/> implements <see cref="ITaskFamily"/> and has a public
/// parameterless constructor. Built-in families have short forms deriving from this attribute (<c>[Sinusoid]</c>,
/// <c>[Omniglot]</c>, …), whose named arguments set the defaults of the family's options of the same name.
/// </summary>
/// <typeparam name="T">The family type.</typeparam>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public class TasksAttribute<T> : Attribute where T : class;

/// <summary>
/// Declares the experiment's network: <typeparamref name="T"/> implements <see cref="INetworkDefinition"/> and has a public
/// parameterless constructor. Without it the family's <see cref="DefaultNetworkAttribute{T}"/> decides.
/// </summary>
/// <typeparam name="T">The network definition type.</typeparam>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public class NetworkAttribute<T> : Attribute where T : class;

/// <summary>
/// Declares the experiment's algorithm: <typeparamref name="T"/> implements <see cref="IAlgorithmDefinition"/> and has a
/// public parameterless constructor. Built-in algorithms have short forms (<c>[Maml]</c>, <c>[Reptile]</c>, …), whose
/// named arguments set the defaults of the algorithm's options of the same name.
/// </summary>
/// <typeparam name="T">The algorithm definition type.</typeparam>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public class AlgorithmAttribute<T> : Attribute where T : class;

/// <summary>On a task family type: the network its experiments use unless they name one with <c>[Network&lt;T&gt;]</c>.</summary>
/// <typeparam name="T">The network definition type.</typeparam>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class DefaultNetworkAttribute<T> : Attribute where T : class;

/// <summary>
/// On a task family, network or algorithm type, or on an experiment: the default of an option, overriding the
/// property's initial value (on a component type, it may name an experiment-level option such as <c>MetaBatch</c>,
/// <c>Init</c>, <c>MetaOptimizer</c> or <c>MetaLrSchedule</c>; the experiment's own attributes win over it).
/// </summary>
/// <param name="option">The option's key (its property name), e.g. <c>nameof(MlpNetwork.Hidden)</c>.</param>
/// <param name="value">The default: a number, bool, string, enum member or <c>int[]</c>.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class DefaultAttribute(string option, object value) : Attribute
{
    /// <summary>The option's key.</summary>
    public string Option { get; } = option;

    /// <summary>The default value.</summary>
    public object Value { get; } = value;
}

/// <summary>
/// On an <see cref="OptionAttribute"/> property: the option exists only in experiments with a <c>[Sampler]</c> (e.g. the
/// priority queue's block sizes of a continuous family).
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = true, AllowMultiple = false)]
public sealed class SamplerOnlyAttribute : Attribute;
