namespace Meta.Generators.Model;

/// <summary>
/// Everything the emitter needs to write one experiment's source, and nothing else: plain values only (no symbols,
/// syntax nodes or locations), so two runs over equivalent code produce equal specs and the pipeline stays cached.
/// </summary>
/// <param name="Type">The experiment class and where it is declared.</param>
/// <param name="Name">The command-line name, e.g. <c>sine-maml</c> (validated: lower case, digits and '-').</param>
/// <param name="Description">One sentence for <c>--help</c> and the run summary.</param>
/// <param name="Tasks">The task family the loop samples episodes from.</param>
/// <param name="Network">The network definition.</param>
/// <param name="Algorithm">The algorithm definition.</param>
/// <param name="Options">Every option of the generated <c>Options</c> type, in declaration order.</param>
/// <param name="Sampler">The task sampler declared by <c>[Sampler]</c>, or null (the family's own uniform sampling).</param>
/// <param name="ScratchCurve"><c>[ScratchCurve]</c>: a from-scratch learning curve is trained beside meta-training.</param>
/// <param name="Requirements">Checks across options that the generated <c>Validate()</c> makes after the per-option ones.</param>
internal sealed record ExperimentSpec(
    HierarchyInfo Type,
    string Name,
    string Description,
    ComponentSpec Tasks,
    ComponentSpec Network,
    ComponentSpec Algorithm,
    EquatableArray<OptionSpec> Options,
    SamplerSpec? Sampler,
    EquatableArray<RequirementSpec> Requirements,
    bool ScratchCurve);

/// <summary>A check of the generated <c>Validate()</c>: <paramref name="Condition"/> must hold, or <paramref name="Message"/> is the error.</summary>
/// <param name="Condition">A C# boolean expression over the option properties.</param>
/// <param name="Message">The one-line error naming the flags involved and what is accepted.</param>
internal sealed record RequirementSpec(string Condition, string Message);

/// <summary>A <c>[Sampler]</c>: draws meta-batches through a task sampler (seed 000) instead of the family's uniform draw.</summary>
/// <param name="Kind">The regime's enum member name, e.g. <c>ImportanceDelta</c> (its default; <c>--sampler</c> may change it).</param>
internal sealed record SamplerSpec(string Kind);
