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
        messageFormat: "Experiment '{0}' has no task family. Add [Tasks<YourFamily>] or a built-in short form: [Sinusoid], [Sinusoid3D], [Omniglot], [MiniImageNet], [Glyphs] or [FashionMnist].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The task family decides which tasks the experiment meta-learns on, its network and its evaluation.",
        helpLinkUri: HelpLink(DiagnosticIds.MissingTaskFamily));

    /// <summary>META005.</summary>
    public static readonly DiagnosticDescriptor MissingAlgorithm = new(
        id: DiagnosticIds.MissingAlgorithm,
        title: "Experiment has no algorithm",
        messageFormat: "Experiment '{0}' has no algorithm. Add [Algorithm<YourAlgorithm>] or a built-in short form: [Maml], [Reptile], [Imaml], [MetaSgd], [MamlPlusPlus], [MetaCurvature] or [Anil].",
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
    public static readonly DiagnosticDescriptor InvalidOptionDefault = new(
        id: DiagnosticIds.InvalidOptionDefault,
        title: "Option default is not valid",
        messageFormat: "{0} sets option '{1}' to {2}, but {3}. Change the value.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A default set by an attribute (a short form's named argument, [Default] or a component type's [Default]) is checked against the option's [Option] rules at compile time; the same rules run again on the command line.",
        helpLinkUri: HelpLink(DiagnosticIds.InvalidOptionDefault));

    /// <summary>META009.</summary>
    public static readonly DiagnosticDescriptor SeveralTaskFamilies = new(
        id: DiagnosticIds.SeveralTaskFamilies,
        title: "Experiment has more than one task family",
        messageFormat: "Experiment '{0}' declares more than one task family ({1}). Keep exactly one.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "An experiment trains on one task family; the task-family attributes are alternatives.",
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

    /// <summary>META010.</summary>
    public static readonly DiagnosticDescriptor SeveralAlgorithms = new(
        id: DiagnosticIds.SeveralAlgorithms,
        title: "Experiment has more than one algorithm",
        messageFormat: "Experiment '{0}' declares more than one algorithm ({1}). Keep exactly one; for MAML's first order use [Maml(FirstOrder = true)], Reptile is first order by construction.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "An experiment meta-learns with one algorithm; the algorithm attributes are alternatives, and none of them combines with another (there is no second-order Reptile).",
        helpLinkUri: HelpLink(DiagnosticIds.SeveralAlgorithms));

    /// <summary>META106.</summary>
    public static readonly DiagnosticDescriptor InvalidAlgorithmSetting = new(
        id: DiagnosticIds.InvalidAlgorithmSetting,
        title: "Meta-optimiser setting is not valid",
        messageFormat: "[{0}] {1} is {2}, but {3}. Change the value.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A cosine schedule's minimum lies in [0, rate), and the learned inner rates' scale is a finite number above 0.",
        helpLinkUri: HelpLink(DiagnosticIds.InvalidAlgorithmSetting));

    /// <summary>META011.</summary>
    public static readonly DiagnosticDescriptor SeveralNetworks = new(
        id: DiagnosticIds.SeveralNetworks,
        title: "Experiment has more than one network",
        messageFormat: "Experiment '{0}' declares more than one network ({1}). Keep exactly one [Network<T>].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "An experiment meta-learns one network; without [Network<T>] its task family's [DefaultNetwork<T>] is used.",
        helpLinkUri: HelpLink(DiagnosticIds.SeveralNetworks));

    /// <summary>META012.</summary>
    public static readonly DiagnosticDescriptor MissingNetwork = new(
        id: DiagnosticIds.MissingNetwork,
        title: "Experiment has no network",
        messageFormat: "Experiment '{0}' has no network: its task family '{1}' names no [DefaultNetwork<T>]. Add [Network<T>] to the experiment, e.g. [Network<MlpNetwork>], or [DefaultNetwork<T>] to the family.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The network comes from [Network<T>] on the experiment or, without it, from the family's [DefaultNetwork<T>].",
        helpLinkUri: HelpLink(DiagnosticIds.MissingNetwork));

    /// <summary>META020.</summary>
    public static readonly DiagnosticDescriptor ComponentContract = new(
        id: DiagnosticIds.ComponentContract,
        title: "Component type does not implement its contract",
        messageFormat: "{0} names '{1}', which does not implement {2}. Implement {2} in '{1}' or name a type that does.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A task family implements Meta.ITaskFamily, a network Meta.INetworkDefinition, an algorithm Meta.IAlgorithmDefinition; the generated loop calls them through these contracts.",
        helpLinkUri: HelpLink(DiagnosticIds.ComponentContract));

    /// <summary>META021.</summary>
    public static readonly DiagnosticDescriptor ComponentConstructor = new(
        id: DiagnosticIds.ComponentConstructor,
        title: "Component type needs a public parameterless constructor",
        messageFormat: "{0} names '{1}', which is not a non-abstract class with a public parameterless constructor. Add 'public {1}() {{ }}' (settings go in [Option] properties) or name a concrete class.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generated options create the component with 'new T { Option = value, ... }', so it must be a concrete class with a public parameterless constructor.",
        helpLinkUri: HelpLink(DiagnosticIds.ComponentConstructor));

    /// <summary>META022.</summary>
    public static readonly DiagnosticDescriptor UnsupportedOption = new(
        id: DiagnosticIds.UnsupportedOption,
        title: "Option property cannot be an option",
        messageFormat: "[Option] property '{0}.{1}' {2}. Options are public instance properties with a public setter of type int, long, double, bool, string, an enum or int[].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Each [Option] becomes a typed property of the generated Options, a command-line flag and a configuration key, which only these types support.",
        helpLinkUri: HelpLink(DiagnosticIds.UnsupportedOption));

    /// <summary>META023.</summary>
    public static readonly DiagnosticDescriptor DuplicateOption = new(
        id: DiagnosticIds.DuplicateOption,
        title: "Two parts of an experiment declare the same option",
        messageFormat: "Experiment '{0}': option '{1}' is declared by both {2} and {3}. Rename one of the properties; flags and configuration keys must be unique.",
        category: Design,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The options of the loop, the task family, the network and the algorithm share one namespace of flags and configuration keys.",
        helpLinkUri: HelpLink(DiagnosticIds.DuplicateOption));

    /// <summary>META024.</summary>
    public static readonly DiagnosticDescriptor UnknownOption = new(
        id: DiagnosticIds.UnknownOption,
        title: "Attribute sets an option the experiment does not have",
        messageFormat: "{0} sets '{1}', but experiment '{2}' has no option of that name. Options: {3}.",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Named arguments of component attributes, [InnerSteps], [Shots] and [Default] set the defaults of options of the same name; the name must exist in the family, network, algorithm or loop.",
        helpLinkUri: HelpLink(DiagnosticIds.UnknownOption));

    /// <summary>META202.</summary>
    public static readonly DiagnosticDescriptor SamplerNeedsContinuousFamily = new(
        id: DiagnosticIds.SamplerNeedsContinuousFamily,
        title: "Grid sampler needs continuous task parameters",
        messageFormat: "Experiment '{0}' uses [Sampler] with task family '{1}', which does not implement ISampledTaskFamily (continuous task parameters to grid). Remove [Sampler] or use such a family, e.g. [Sinusoid] or [Sinusoid3D].",
        category: Usage,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The priority-queue samplers grid a box of continuous task parameters (amplitude, phase, frequency); few-shot classification tasks are sets of classes.",
        helpLinkUri: HelpLink(DiagnosticIds.SamplerNeedsContinuousFamily));

    private static string HelpLink(string id) =>
        "https://github.com/meta-learning/meta/blob/main/docs/diagnostics.md#" + id.ToLowerInvariant();
}
