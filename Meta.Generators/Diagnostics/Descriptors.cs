using Microsoft.CodeAnalysis;

namespace Meta.Generators.Diagnostics;

/// <summary>
/// The diagnostics catalogue. Every message says how to fix the problem; docs/diagnostics.md has a section per id, and
/// AnalyzerReleases.*.md tracks each rule.
/// </summary>
internal static class Descriptors
{
    private const string Usage = "Meta.Usage";
    private const string Design = "Meta.Design";

    /// <summary>META001.</summary>
    public static readonly DiagnosticDescriptor ExperimentMustBePartial = new(
        id: DiagnosticIds.ExperimentMustBePartial,
        title: "Experiment class must be partial",
        messageFormat: "Experiment class '{0}' must be declared partial. Add the 'partial' modifier so the generator can complete it.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generator adds an Options type, a Trainer and a Descriptor to every experiment class, which needs every declaration of the class to be partial.",
        helpLinkUri: HelpLink(DiagnosticIds.ExperimentMustBePartial));

    /// <summary>META002 (reported when the whole compilation has been seen).</summary>
    public static readonly DiagnosticDescriptor DuplicateExperimentName = new(
        id: DiagnosticIds.DuplicateExperimentName,
        title: "Experiment names must be unique",
        messageFormat: "Experiment name '{0}' is used by more than one experiment: {1}. Give each experiment its own name.",
        category: Design,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The command line selects an experiment by name, so two experiments of one assembly cannot share it.",
        helpLinkUri: HelpLink(DiagnosticIds.DuplicateExperimentName),
        customTags: WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>META003.</summary>
    public static readonly DiagnosticDescriptor InvalidExperimentName = new(
        id: DiagnosticIds.InvalidExperimentName,
        title: "Experiment name is not valid",
        messageFormat: "Experiment name '{0}' is not valid. Use lower-case letters and digits in words joined by single hyphens, such as 'sine-maml'.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Experiment names are typed on the command line and used in configuration keys and run folders; they must match ^[a-z0-9]+(-[a-z0-9]+)*$.",
        helpLinkUri: HelpLink(DiagnosticIds.InvalidExperimentName));

    /// <summary>META004.</summary>
    public static readonly DiagnosticDescriptor MissingTaskFamily = new(
        id: DiagnosticIds.MissingTaskFamily,
        title: "Experiment has no task family",
        messageFormat: "Experiment '{0}' has no task family. Add a task-family attribute such as [Sinusoid].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The task family decides which tasks the experiment meta-learns on, its network and its evaluation.",
        helpLinkUri: HelpLink(DiagnosticIds.MissingTaskFamily));

    /// <summary>META005.</summary>
    public static readonly DiagnosticDescriptor MissingAlgorithm = new(
        id: DiagnosticIds.MissingAlgorithm,
        title: "Experiment has no algorithm",
        messageFormat: "Experiment '{0}' has no algorithm. Add an algorithm attribute such as [Maml].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The algorithm decides how the training loop adapts to each task and forms the meta-gradient.",
        helpLinkUri: HelpLink(DiagnosticIds.MissingAlgorithm));

    /// <summary>META006.</summary>
    public static readonly DiagnosticDescriptor ContainingTypeMustBePartial = new(
        id: DiagnosticIds.ContainingTypeMustBePartial,
        title: "Type containing an experiment must be partial",
        messageFormat: "Type '{0}' contains experiment '{1}' and must be declared partial. Add the 'partial' modifier.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generated code reopens every type that contains a nested experiment class, which needs those types to be partial too.",
        helpLinkUri: HelpLink(DiagnosticIds.ContainingTypeMustBePartial));

    /// <summary>META007.</summary>
    public static readonly DiagnosticDescriptor ExperimentMustNotBeGeneric = new(
        id: DiagnosticIds.ExperimentMustNotBeGeneric,
        title: "Experiment class must not be generic",
        messageFormat: "Experiment class '{0}' is generic or nested in a generic type. Declare it as a non-generic class outside generic types.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The experiment catalog refers to each experiment's descriptor without type arguments, so an experiment cannot be generic.",
        helpLinkUri: HelpLink(DiagnosticIds.ExperimentMustNotBeGeneric));

    /// <summary>META008.</summary>
    public static readonly DiagnosticDescriptor ExperimentMustBeAccessible = new(
        id: DiagnosticIds.ExperimentMustBeAccessible,
        title: "Experiment class must be visible to its assembly",
        messageFormat: "Experiment class '{0}' cannot be reached by the experiment catalog because '{1}' is {2}. Make it internal or public.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generated catalog lists every experiment's descriptor from outside the class, so neither the class nor a type containing it may be private or protected.",
        helpLinkUri: HelpLink(DiagnosticIds.ExperimentMustBeAccessible));

    /// <summary>META101.</summary>
    public static readonly DiagnosticDescriptor InnerStepsTooSmall = new(
        id: DiagnosticIds.InnerStepsTooSmall,
        title: "InnerSteps must be at least 1",
        messageFormat: "InnerSteps is {0}, but the inner loop needs at least one step. Use [InnerSteps(1)] or more.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Meta-learning with no inner step has nothing to adapt; the generated options would reject the value at run time.",
        helpLinkUri: HelpLink(DiagnosticIds.InnerStepsTooSmall));

    /// <summary>META102.</summary>
    public static readonly DiagnosticDescriptor LearningRateNotPositive = new(
        id: DiagnosticIds.LearningRateNotPositive,
        title: "Learning rate must be a finite number above 0",
        messageFormat: "{0} is {1}, but a learning rate must be a finite number above 0. Use a value such as 0.01.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A zero, negative, infinite or NaN learning rate cannot train; the generated options would reject it at run time.",
        helpLinkUri: HelpLink(DiagnosticIds.LearningRateNotPositive));

    /// <summary>META103.</summary>
    public static readonly DiagnosticDescriptor CountTooSmall = new(
        id: DiagnosticIds.CountTooSmall,
        title: "Count must be at least 1",
        messageFormat: "{0} is {1}, but it must be at least {2}. Use a larger value.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Meta-iterations, tasks per meta-batch and support points per task must be at least 1; Shots' Query must be at least 1, or 0 for the same number as the support.",
        helpLinkUri: HelpLink(DiagnosticIds.CountTooSmall));

    /// <summary>META104.</summary>
    public static readonly DiagnosticDescriptor InvalidSinusoidRange = new(
        id: DiagnosticIds.InvalidSinusoidRange,
        title: "Sinusoid range is not valid",
        messageFormat: "The sinusoid {0} range [{1}, {2}] is not valid: {3}. Adjust the properties of [Sinusoid].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Each sinusoid range needs finite bounds with the lower below the upper, and amplitudes cannot be negative; unset bounds take the runtime's defaults.",
        helpLinkUri: HelpLink(DiagnosticIds.InvalidSinusoidRange));

    /// <summary>META009.</summary>
    public static readonly DiagnosticDescriptor SeveralTaskFamilies = new(
        id: DiagnosticIds.SeveralTaskFamilies,
        title: "Experiment has more than one task family",
        messageFormat: "Experiment '{0}' declares more than one task family ({1}). Keep exactly one.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "An experiment trains on one task family; [Sinusoid] and [Sinusoid3D] are alternatives.",
        helpLinkUri: HelpLink(DiagnosticIds.SeveralTaskFamilies));

    /// <summary>META105.</summary>
    public static readonly DiagnosticDescriptor InvalidSamplerSetting = new(
        id: DiagnosticIds.InvalidSamplerSetting,
        title: "Sampler setting is not valid",
        messageFormat: "[Sampler] {0} is {1}, but {2}. Change the value.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "ε values lie in [0, 1] with the final ε not above the start; the decay rate is at least 0; block sizes and initial queue values are finite and above 0.",
        helpLinkUri: HelpLink(DiagnosticIds.InvalidSamplerSetting));

    private static string HelpLink(string id) =>
        "https://github.com/meta-learning/meta/blob/main/docs/diagnostics.md#" + id.ToLowerInvariant();
}
