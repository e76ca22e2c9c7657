using System.Linq;
using System.Collections.Generic;
using System.Collections.Immutable;
using Meta.Generators.Emitting;
using Meta.Generators.Model;

namespace Meta.Generators.Parsing;

// The option list of an experiment, in the order users see it in --help: training, algorithm, run, task family,
// evaluation, hosting. A knob set by an attribute defaults to that literal; any other knob defaults to the runtime's
// constant, so changing a runtime default changes every experiment that did not pin it.
internal static partial class ExperimentParser
{
    private const string Defaults = "global::Meta.ExperimentDefaults.";
    private const string NonFinitePolicyType = "global::Meta.Hosting.NonFinitePolicy";
    private const string DistributedModeType = "global::Meta.Distributed.DistributedMode";
    private const string ParallelismType = "global::Meta.Training.Parallelism";
    private const string SamplerKindType = "global::Meta.SamplerKind";
    private const string SamplerDefaultsPrefix = "global::Meta.SamplerDefaults.";
    private const string LrScheduleType = "global::Meta.LrSchedule";

    private static EquatableArray<OptionSpec> BuildOptions(
        ExperimentDeclaration declaration, OptionPlan plan, SamplerSpec? sampler, EnumChoiceSet choices,
        out EquatableArray<RequirementSpec> requirements)
    {
        var options = new OptionListBuilder();
        foreach (var spec in plan.ToSpecs()) options.Add(spec);
        if (sampler is not null) AddSamplerOptions(options, declaration, sampler, choices.Sampler);
        if (declaration.Attribute(KnownTypeNames.ScratchCurveAttribute) is not null) AddScratchCurveOptions(options, declaration);
        AddHostingOptions(options, choices);
        requirements = new[]
        {
            new RequirementSpec("MetaLrSchedule != " + LrScheduleType + ".Cosine || MetaLrMin < MetaLr",
                "--meta-lr-min must be below --meta-lr when --meta-lr-schedule is cosine"),
        }.ToEquatableArray();
        return options.ToEquatableArray();
    }

    // The sampler's knobs; the runtime's PriorityQueueOptions validates their combination (built by the generated
    // SamplerOptions() and checked in Validate()).
    private static void AddSamplerOptions(OptionListBuilder options, ExperimentDeclaration d, SamplerSpec sampler,
        ImmutableArray<string> samplerChoices)
    {
        string Number(string property) =>
            DoubleOr(d.Named<double>(KnownTypeNames.SamplerAttribute, property), SamplerDefaultsPrefix + property);
        string Flag(string property) =>
            d.Named<bool>(KnownTypeNames.SamplerAttribute, property) is { } b ? CSharpLiteral.Boolean(b) : SamplerDefaultsPrefix + property;

        options.Choice("Sampler", new TypeRef(SamplerKindType), samplerChoices, SamplerKindType + "." + sampler.Kind,
            "Task sampling regime (seed 000).");
        options.Number("EpsilonStart", Number("EpsilonStart"), "ε at the first draw (ε-greedy).", OptionCheck.None);
        options.Number("EpsilonFinal", Number("EpsilonFinal"), "Lowest ε (ε-greedy).", OptionCheck.None);
        options.Number("EpsilonDecayRate", Number("EpsilonDecayRate"), "Linear decrease of ε per drawn task.", OptionCheck.None);
        var decayStart = d.Named<long>(KnownTypeNames.SamplerAttribute, "EpsilonDecayStart");
        options.Long("EpsilonDecayStart", decayStart is { } start ? CSharpLiteral.Int64(start) : SamplerDefaultsPrefix + "EpsilonDecayStart",
            "ε decays only in meta-steps after this one.");
        options.Boolean("SelfNormalise", Flag("SelfNormalise"), "Divide the importance weights by their batch mean.");
        options.Number("InitialLoss", Number("InitialLoss"), "Scale of the initial queue losses |N(0, σ²)|.", OptionCheck.None);
        options.Number("InitialChange", Number("InitialChange"), "Scale of the initial queue changes |N(0, σ²)|.", OptionCheck.None);
        options.Boolean("InitialConstant", Flag("InitialConstant"), "Start every cell at exactly the initial loss and change.");
        options.Boolean("TruncateCells", Flag("TruncateCells"), "Reproduce seed 000's truncated grid (the remainder of a range is never drawn).");
    }

    private static void AddScratchCurveOptions(OptionListBuilder options, ExperimentDeclaration d)
    {
        const string A = KnownTypeNames.ScratchCurveAttribute;
        options.Integer("ScratchSteps", CSharpLiteral.Int32(d.Named<int>(A, "Steps") ?? 10), "Adam steps per episode of the from-scratch curve.", OptionCheck.AtLeast(1));
        options.Number("ScratchLr", CSharpLiteral.Double(d.Named<double>(A, "LearningRate") ?? 0.001), "Adam learning rate of the from-scratch curve.", OptionCheck.Positive);
        options.Integer("ScratchWindow", CSharpLiteral.Int32(d.Named<int>(A, "Window") ?? 300), "Iterations per window mean of the learning curves.", OptionCheck.AtLeast(1));
    }

    private static void AddHostingOptions(OptionListBuilder options, EnumChoiceSet choices)
    {
        options.Integer("Threads", Defaults + "Threads", "CPU threads (see --parallelism).", OptionCheck.AtLeast(1));
        options.Choice("Parallelism", new TypeRef(ParallelismType), choices.Parallelism, ParallelismType + ".Operations",
            "How --threads are used: operations (libtorch splits each operation) or tasks (each meta-batch's tasks are split over the threads).");
        options.Text("Output", Defaults + "Output", "Root folder of run folders.", OptionCheck.NotEmpty);
        options.Integer("LogEvery", Defaults + "LogEvery", "Iterations between progress lines.", OptionCheck.AtLeast(1));
        options.Integer("CheckpointEvery", Defaults + "CheckpointEvery",
            "Iterations between checkpoints (0: only at the end and when stopped).", OptionCheck.AtLeast(0));
        options.Integer("KeepCheckpoints", Defaults + "KeepCheckpoints", "Checkpoints kept per run.", OptionCheck.AtLeast(1));
        options.Text("Resume", Defaults + "Resume", "Continue a run: 'latest', a run folder or a checkpoint file.", OptionCheck.None);
        options.Choice("OnNonFinite", new TypeRef(NonFinitePolicyType), choices.NonFinite, NonFinitePolicyType + ".Stop",
            "What a NaN or infinity in a loss or gradient does.");
        options.Choice("Distributed", new TypeRef(DistributedModeType), choices.Distributed, DistributedModeType + ".None",
            "Spread each meta-batch over processes.");
    }

    private static string DoubleOr(double? value, string defaultExpression) =>
        value is { } v ? CSharpLiteral.Double(v) : defaultExpression;

    /// <summary>Collects options in order; the command-line flag is derived from the key.</summary>
    private sealed class OptionListBuilder
    {
        private readonly List<OptionSpec> _options = [];

        public OptionSpec Integer(string key, string defaultExpression, string description, OptionCheck check) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.Int32, null, default, defaultExpression, description, check));

        public OptionSpec Long(string key, string defaultExpression, string description) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.Int64, null, default, defaultExpression, description, OptionCheck.None));

        public OptionSpec Number(string key, string defaultExpression, string description, OptionCheck check) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.Double, null, default, defaultExpression, description, check));

        public OptionSpec Boolean(string key, string defaultExpression, string description) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.Boolean, null, default, defaultExpression, description, OptionCheck.None));

        public OptionSpec Text(string key, string defaultExpression, string description, OptionCheck check) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.String, null, default, defaultExpression, description, check));

        public OptionSpec Choice(string key, TypeRef type, ImmutableArray<string> choices, string defaultExpression, string description) =>
            Add(new(key, OptionNames.Kebab(key), OptionType.Enum, type, choices.ToEquatableArray(), defaultExpression, description, OptionCheck.None));

        public EquatableArray<OptionSpec> ToEquatableArray() => _options.ToEquatableArray();

        public OptionSpec Add(OptionSpec option)
        {
            _options.Add(option);
            return option;
        }
    }
}

/// <summary>The command-line choices (kebab case) and member names (by value) of the runtime enums options use.</summary>
internal sealed record EnumChoiceSet(ImmutableArray<string> NonFinite, ImmutableArray<string> Distributed, ImmutableArray<string> Sampler,
    ImmutableArray<string> Parallelism);
