namespace Meta.Generators.Diagnostics;

/// <summary>
/// The ids of Meta's diagnostics, shared by the analyzer, tests and docs/diagnostics.md. Ranges: META0xx declarations,
/// META1xx attribute values, META2xx runtime compatibility, META9xx internal errors.
/// </summary>
public static class DiagnosticIds
{
    /// <summary>The experiment class is not <c>partial</c>.</summary>
    public const string ExperimentMustBePartial = "META001";

    /// <summary>Two experiments share a name.</summary>
    public const string DuplicateExperimentName = "META002";

    /// <summary>The experiment name is not lower-case kebab case.</summary>
    public const string InvalidExperimentName = "META003";

    /// <summary>No task-family attribute.</summary>
    public const string MissingTaskFamily = "META004";

    /// <summary>No algorithm attribute.</summary>
    public const string MissingAlgorithm = "META005";

    /// <summary>A type containing the experiment is not <c>partial</c>.</summary>
    public const string ContainingTypeMustBePartial = "META006";

    /// <summary>The experiment class, or a type containing it, is generic.</summary>
    public const string ExperimentMustNotBeGeneric = "META007";

    /// <summary>The experiment class, or a type containing it, is private or protected.</summary>
    public const string ExperimentMustBeAccessible = "META008";

    /// <summary>InnerSteps below 1.</summary>
    public const string InnerStepsTooSmall = "META101";

    /// <summary>A learning rate not above 0 or not finite.</summary>
    public const string LearningRateNotPositive = "META102";

    /// <summary>A count (meta-batch, shots, query, iterations) below 1.</summary>
    public const string CountTooSmall = "META103";

    /// <summary>An attribute sets an option to a value its [Option] checks reject (range, sign, kind).</summary>
    public const string InvalidOptionDefault = "META104";

    /// <summary>A [Sampler] knob has a value the sampler cannot use.</summary>
    public const string InvalidSamplerSetting = "META105";

    /// <summary>More than one task family attribute.</summary>
    public const string SeveralTaskFamilies = "META009";

    /// <summary>More than one algorithm attribute (e.g. [Reptile] with [Maml]: Reptile has no second order).</summary>
    public const string SeveralAlgorithms = "META010";

    /// <summary>An algorithm knob ([Reptile], [Imaml], [MamlPlusPlus], [MetaLr]'s optimiser settings) has a value the algorithm cannot use.</summary>
    public const string InvalidAlgorithmSetting = "META106";

    /// <summary>More than one <c>[Network&lt;T&gt;]</c>.</summary>
    public const string SeveralNetworks = "META011";

    /// <summary>No <c>[Network&lt;T&gt;]</c> and no <c>[DefaultNetwork&lt;T&gt;]</c> on the family.</summary>
    public const string MissingNetwork = "META012";

    /// <summary>A component type does not implement its contract.</summary>
    public const string ComponentContract = "META020";

    /// <summary>A component type is not a concrete class with a public parameterless constructor.</summary>
    public const string ComponentConstructor = "META021";

    /// <summary>An [Option] property of an unsupported type or without a public setter.</summary>
    public const string UnsupportedOption = "META022";

    /// <summary>Two parts of an experiment declare one option key.</summary>
    public const string DuplicateOption = "META023";

    /// <summary>An attribute sets an option that does not exist.</summary>
    public const string UnknownOption = "META024";

    /// <summary>A grid [Sampler] on a task family without continuous task parameters.</summary>
    public const string SamplerNeedsContinuousFamily = "META202";
}
