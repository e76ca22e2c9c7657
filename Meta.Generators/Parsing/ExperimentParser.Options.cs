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
    private const string SinusoidDefaultsPrefix = "global::Meta.SinusoidRanges.Default.";
    private const string WeightInitType = "global::Meta.Functional.WeightInit";
    private const string NonFinitePolicyType = "global::Meta.Hosting.NonFinitePolicy";
    private const string DistributedModeType = "global::Meta.Distributed.DistributedMode";
    private const string SamplerKindType = "global::Meta.SamplerKind";
    private const string SamplerDefaultsPrefix = "global::Meta.SamplerDefaults.";
    private const string Sinusoid3DDefaultsPrefix = "global::Meta.Sinusoid3DRanges.Default.";

    private static EquatableArray<OptionSpec> BuildOptions(
        ExperimentDeclaration declaration, TaskFamilySpec family, AlgorithmSpec algorithm, SamplerSpec? sampler, ImmutableArray<string> initChoices,
        ImmutableArray<string> nonFiniteChoices, ImmutableArray<string> distributedChoices, ImmutableArray<string> samplerChoices)
    {
        var options = new OptionListBuilder();
        AddTrainingOptions(options, declaration);
        AddAlgorithmOptions(options, algorithm);
        AddRunOptions(options, declaration, initChoices);
        AddFamilyOptions(options, declaration, family);
        if (sampler is not null) AddSamplerOptions(options, declaration, family, sampler, samplerChoices);
        AddEvaluationOptions(options, family);
        AddHostingOptions(options, nonFiniteChoices, distributedChoices);
        return options.ToEquatableArray();
    }

    private static void AddTrainingOptions(OptionListBuilder options, ExperimentDeclaration d)
    {
        var shots = d.Argument<int>(KnownTypeNames.ShotsAttribute);
        var query = d.Named<int>(KnownTypeNames.ShotsAttribute, "Query") is > 0 and var q ? q : shots;

        options.Integer("Iterations", IntOr(d.Argument<int>(KnownTypeNames.IterationsAttribute), "Iterations"),
            "Meta-iterations (outer steps).", OptionCheck.AtLeast(1));
        options.Integer("MetaBatch", IntOr(d.Argument<int>(KnownTypeNames.MetaBatchAttribute), "MetaBatch"),
            "Tasks per meta-batch.", OptionCheck.AtLeast(1));
        options.Integer("Shots", IntOr(shots, "Shots"), "Support points K per task.", OptionCheck.AtLeast(1));
        options.Integer("QueryShots", IntOr(query, "Shots"), "Query points per task.", OptionCheck.AtLeast(1));
        options.Integer("InnerSteps", IntOr(d.Argument<int>(KnownTypeNames.InnerStepsAttribute), "InnerSteps"),
            "Inner SGD steps S.", OptionCheck.AtLeast(1));
        options.Number("InnerLr", DoubleOr(d.Argument<double>(KnownTypeNames.InnerLrAttribute), Defaults + "InnerLr"),
            "Inner learning rate α.", OptionCheck.Positive);
        options.Number("MetaLr", DoubleOr(d.Argument<double>(KnownTypeNames.MetaLrAttribute), Defaults + "MetaLr"),
            "Meta learning rate (Adam).", OptionCheck.Positive);
    }

    private static void AddAlgorithmOptions(OptionListBuilder options, AlgorithmSpec algorithm)
    {
        switch (algorithm.Kind)
        {
            case AlgorithmKind.Maml:
                options.Boolean("FirstOrder", CSharpLiteral.Boolean(algorithm.FirstOrder), "Drop second-order terms (FOMAML).");
                break;
        }
    }

    private static void AddRunOptions(OptionListBuilder options, ExperimentDeclaration d, ImmutableArray<string> initChoices)
    {
        var seed = d.Argument<long>(KnownTypeNames.SeedAttribute);
        options.Long("Seed", seed is { } s ? CSharpLiteral.Int64(s) : Defaults + "Seed", "The run seed.");
        options.Choice("Init", new TypeRef(WeightInitType), initChoices, WeightInitType + ".Finn", "Weight initialisation.");
    }

    private static void AddFamilyOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family)
    {
        switch (family.Kind)
        {
            case TaskFamilyKind.Sinusoid:
                string Bound(string property) =>
                    DoubleOr(d.Named<double>(KnownTypeNames.SinusoidAttribute, property), SinusoidDefaultsPrefix + property);

                var amplitudeMin = options.Number("AmplitudeMin", Bound("AmplitudeMin"), "Lower bound of the amplitude A.", OptionCheck.NonNegative);
                options.Number("AmplitudeMax", Bound("AmplitudeMax"), "Upper bound of the amplitude A.", OptionCheck.Above(amplitudeMin));
                var phaseMin = options.Number("PhaseMin", Bound("PhaseMin"), "Lower bound of the phase φ (radians).", OptionCheck.None);
                options.Number("PhaseMax", Bound("PhaseMax"), "Upper bound of the phase φ (radians).", OptionCheck.Above(phaseMin));
                var inputMin = options.Number("InputMin", Bound("InputMin"), "Lower bound of the input x.", OptionCheck.None);
                options.Number("InputMax", Bound("InputMax"), "Upper bound of the input x.", OptionCheck.Above(inputMin));
                break;
            case TaskFamilyKind.Sinusoid3D:
                string Bound3D(string property) =>
                    DoubleOr(d.Named<double>(KnownTypeNames.Sinusoid3DAttribute, property), Sinusoid3DDefaultsPrefix + property);

                var amplitudeMin3 = options.Number("AmplitudeMin", Bound3D("AmplitudeMin"), "Lower bound of the amplitude A.", OptionCheck.NonNegative);
                options.Number("AmplitudeMax", Bound3D("AmplitudeMax"), "Upper bound of the amplitude A.", OptionCheck.Above(amplitudeMin3));
                var phaseMin3 = options.Number("PhaseMin", Bound3D("PhaseMin"), "Lower bound of the phase φ (radians).", OptionCheck.None);
                options.Number("PhaseMax", Bound3D("PhaseMax"), "Upper bound of the phase φ (radians).", OptionCheck.Above(phaseMin3));
                var frequencyMin = options.Number("FrequencyMin", Bound3D("FrequencyMin"), "Lower bound of the frequency ω.", OptionCheck.None);
                options.Number("FrequencyMax", Bound3D("FrequencyMax"), "Upper bound of the frequency ω.", OptionCheck.Above(frequencyMin));
                var inputMin3 = options.Number("InputMin", Bound3D("InputMin"), "Lower bound of the input x.", OptionCheck.None);
                options.Number("InputMax", Bound3D("InputMax"), "Upper bound of the input x.", OptionCheck.Above(inputMin3));
                break;
        }
    }

    // The sampler's knobs; the runtime's PriorityQueueOptions validates their combination (built by the generated
    // SamplerOptions() and checked in Validate()).
    private static void AddSamplerOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family, SamplerSpec sampler,
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
        options.Number("AmplitudeBlock", Number("AmplitudeBlock"), "Queue block of the amplitude A.", OptionCheck.None);
        options.Number("PhaseBlock", Number("PhaseBlock"), "Queue block of the phase φ (radians).", OptionCheck.None);
        if (family.Kind == TaskFamilyKind.Sinusoid3D)
            options.Number("FrequencyBlock", Number("FrequencyBlock"), "Queue block of the frequency ω.", OptionCheck.None);
        options.Number("InitialLoss", Number("InitialLoss"), "Scale of the initial queue losses |N(0, σ²)|.", OptionCheck.None);
        options.Number("InitialChange", Number("InitialChange"), "Scale of the initial queue changes |N(0, σ²)|.", OptionCheck.None);
        options.Boolean("InitialConstant", Flag("InitialConstant"), "Start every cell at exactly the initial loss and change.");
        options.Boolean("TruncateCells", Flag("TruncateCells"), "Reproduce seed 000's truncated grid (the remainder of a range is never drawn).");
    }

    private static void AddEvaluationOptions(OptionListBuilder options, TaskFamilySpec family)
    {
        switch (family.Kind)
        {
            case TaskFamilyKind.Sinusoid:
                options.Integer("EvalTasks", Defaults + "EvalTasks", "Fixed test tasks of the final evaluation.", OptionCheck.AtLeast(2));
                options.Integer("EvalPoints", Defaults + "EvalPoints", "Evenly spaced test points per evaluation task.", OptionCheck.AtLeast(1));
                options.Integer("PretrainIterations", Defaults + "PretrainIterations",
                    "Adam iterations of the jointly pre-trained baseline (0 skips it).", OptionCheck.AtLeast(0));
                break;
        }
    }

    private static void AddHostingOptions(OptionListBuilder options, ImmutableArray<string> nonFiniteChoices, ImmutableArray<string> distributedChoices)
    {
        options.Integer("Threads", Defaults + "Threads", "libtorch CPU threads.", OptionCheck.AtLeast(1));
        options.Text("Output", Defaults + "Output", "Root folder of run folders.", OptionCheck.NotEmpty);
        options.Integer("LogEvery", Defaults + "LogEvery", "Iterations between progress lines.", OptionCheck.AtLeast(1));
        options.Integer("CheckpointEvery", Defaults + "CheckpointEvery",
            "Iterations between checkpoints (0: only at the end and when stopped).", OptionCheck.AtLeast(0));
        options.Integer("KeepCheckpoints", Defaults + "KeepCheckpoints", "Checkpoints kept per run.", OptionCheck.AtLeast(1));
        options.Text("Resume", Defaults + "Resume", "Continue a run: 'latest', a run folder or a checkpoint file.", OptionCheck.None);
        options.Choice("OnNonFinite", new TypeRef(NonFinitePolicyType), nonFiniteChoices, NonFinitePolicyType + ".Stop",
            "What a NaN or infinity in a loss or gradient does.");
        options.Choice("Distributed", new TypeRef(DistributedModeType), distributedChoices, DistributedModeType + ".None",
            "Spread each meta-batch over processes.");
    }

    private static string IntOr(int? value, string defaultsMember) =>
        value is { } v ? CSharpLiteral.Int32(v) : Defaults + defaultsMember;

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

        private OptionSpec Add(OptionSpec option)
        {
            _options.Add(option);
            return option;
        }
    }
}
