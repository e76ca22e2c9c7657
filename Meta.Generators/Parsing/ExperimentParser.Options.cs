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
    private const string SinusoidDefaultsPrefix = "global::Meta.SinusoidRanges.Default.";
    private const string WeightInitType = "global::Meta.Functional.WeightInit";
    private const string NonFinitePolicyType = "global::Meta.Hosting.NonFinitePolicy";
    private const string DistributedModeType = "global::Meta.Distributed.DistributedMode";
    private const string SamplerKindType = "global::Meta.SamplerKind";
    private const string SamplerDefaultsPrefix = "global::Meta.SamplerDefaults.";
    private const string Sinusoid3DDefaultsPrefix = "global::Meta.Sinusoid3DRanges.Default.";
    private const string AlgorithmDefaults = "global::Meta.AlgorithmDefaults.";
    private const string ImageDefaults = "global::Meta.ImageDefaults.";
    private const string MetaOptimizerKindType = "global::Meta.MetaOptimizerKind";
    private const string LrScheduleType = "global::Meta.LrSchedule";
    private const string InnerOptimizerType = "global::Meta.Algorithms.InnerOptimizer";
    private const string OmniglotSplitType = "global::Meta.Tasks.Images.OmniglotSplit";

    private static EquatableArray<OptionSpec> BuildOptions(
        ExperimentDeclaration declaration, TaskFamilySpec family, AlgorithmSpec algorithm, SamplerSpec? sampler, EnumChoiceSet choices,
        out EquatableArray<RequirementSpec> requirements)
    {
        var options = new OptionListBuilder();
        var required = new List<RequirementSpec>();
        AddTrainingOptions(options, declaration, family);
        AddMetaOptimizerOptions(options, declaration, algorithm, choices, required);
        AddAlgorithmOptions(options, declaration, algorithm, choices, required);
        AddRunOptions(options, declaration, family, choices.Init, choices.InitNames);
        AddFamilyOptions(options, declaration, family, choices, required);
        if (sampler is not null) AddSamplerOptions(options, declaration, family, sampler, choices.Sampler);
        AddEvaluationOptions(options, family);
        if (declaration.Attribute(KnownTypeNames.ScratchCurveAttribute) is not null) AddScratchCurveOptions(options, declaration);
        AddHostingOptions(options, choices.NonFinite, choices.Distributed);
        requirements = required.ToEquatableArray();
        return options.ToEquatableArray();
    }

    private static void AddTrainingOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family)
    {
        var shots = d.Argument<int>(KnownTypeNames.ShotsAttribute);
        var query = d.Named<int>(KnownTypeNames.ShotsAttribute, "Query") is > 0 and var q ? q : shots;
        var image = family.IsImage;

        options.Integer("Iterations", IntOr(d.Argument<int>(KnownTypeNames.IterationsAttribute), "Iterations"),
            "Meta-iterations (outer steps).", OptionCheck.AtLeast(1));
        options.Integer("MetaBatch", IntOr(d.Argument<int>(KnownTypeNames.MetaBatchAttribute), image ? ImageDefaults + "MetaBatch" : Defaults + "MetaBatch"),
            "Tasks per meta-batch.", OptionCheck.AtLeast(1));
        options.Integer("Shots", IntOr(shots, image ? ImageDefaults + "Shots" : Defaults + "Shots"),
            image ? "Support images K per class." : "Support points K per task.", OptionCheck.AtLeast(1));
        options.Integer("QueryShots", IntOr(query, image ? ImageDefaults + "QueryShots" : Defaults + "Shots"),
            image ? "Query images per class." : "Query points per task.", OptionCheck.AtLeast(1));
        options.Integer("InnerSteps", IntOr(d.Argument<int>(KnownTypeNames.InnerStepsAttribute), "InnerSteps"),
            "Inner steps S.", OptionCheck.AtLeast(1));
        options.Number("InnerLr", DoubleOr(d.Argument<double>(KnownTypeNames.InnerLrAttribute), Defaults + "InnerLr"),
            "Inner learning rate α.", OptionCheck.Positive);
        options.Number("MetaLr", DoubleOr(d.Argument<double>(KnownTypeNames.MetaLrAttribute), Defaults + "MetaLr"),
            "Meta learning rate.", OptionCheck.Positive);
    }

    // The meta-optimiser and its schedule: Adam at a constant rate unless the algorithm's paper says otherwise (Reptile:
    // plain SGD; MAML++: cosine annealing) or [MetaLr] names them.
    private static void AddMetaOptimizerOptions(OptionListBuilder options, ExperimentDeclaration d, AlgorithmSpec algorithm, EnumChoiceSet choices,
        List<RequirementSpec> required)
    {
        var optimizer = d.IsSet(KnownTypeNames.MetaLrAttribute, "Optimizer") ? d.Named<int>(KnownTypeNames.MetaLrAttribute, "Optimizer") ?? 0
            : algorithm.Kind == AlgorithmKind.Reptile ? 1 : 0;
        var schedule = d.IsSet(KnownTypeNames.MetaLrAttribute, "Schedule") ? d.Named<int>(KnownTypeNames.MetaLrAttribute, "Schedule") ?? 0
            : algorithm.Kind == AlgorithmKind.MamlPlusPlus ? 2 : 0;
        options.Choice("MetaOptimizer", new TypeRef(MetaOptimizerKindType), choices.MetaOptimizer,
            MetaOptimizerKindType + "." + EnumMember(choices.MetaOptimizerNames, optimizer), "Meta-optimiser.");
        options.Choice("MetaLrSchedule", new TypeRef(LrScheduleType), choices.Schedule,
            LrScheduleType + "." + EnumMember(choices.ScheduleNames, schedule), "How the meta learning rate changes over the run.");
        options.Number("MetaLrMin", DoubleOr(d.Named<double>(KnownTypeNames.MetaLrAttribute, "Minimum"), AlgorithmDefaults + "MetaLrMinimum"),
            "Lowest meta learning rate of the cosine schedule.", OptionCheck.NonNegative);
        if (algorithm.LearnsRates)
            options.Number("LearnedRateScale", DoubleOr(d.Named<double>(KnownTypeNames.MetaLrAttribute, "LearnedRateScale"), "1.0"),
                "Meta learning rate of the learned inner rates, as a multiple of the meta learning rate.", OptionCheck.Positive);
        required.Add(new("MetaLrSchedule != " + LrScheduleType + ".Cosine || MetaLrMin < MetaLr",
            "--meta-lr-min must be below --meta-lr when --meta-lr-schedule is cosine"));
    }

    private static void AddAlgorithmOptions(OptionListBuilder options, ExperimentDeclaration d, AlgorithmSpec algorithm, EnumChoiceSet choices,
        List<RequirementSpec> required)
    {
        switch (algorithm.Kind)
        {
            case AlgorithmKind.Maml:
                options.Boolean("FirstOrder", CSharpLiteral.Boolean(algorithm.FirstOrder), "Drop second-order terms (FOMAML).");
                break;
            case AlgorithmKind.MetaSgd:
            case AlgorithmKind.Anil:
                options.Boolean("FirstOrder", CSharpLiteral.Boolean(algorithm.FirstOrder), "Drop second-order terms of the meta-gradient.");
                break;
            case AlgorithmKind.MetaCurvature:
                options.Boolean("FirstOrder", CSharpLiteral.Boolean(algorithm.FirstOrder), "Drop second-order terms of the meta-gradient.");
                options.Boolean("LearnedLearningRates", BoolOr(d.Named<bool>(KnownTypeNames.MetaCurvatureAttribute, "LearnedLearningRates"), "false"),
                    "Also learn an inner learning rate per layer and step (LSLR).");
                break;
            case AlgorithmKind.Reptile:
            {
                const string A = KnownTypeNames.ReptileAttribute;
                var inner = d.Named<int>(A, "Optimizer");
                options.Choice("InnerOptimizer", new TypeRef(InnerOptimizerType), choices.InnerOptimizer,
                    inner is { } i ? InnerOptimizerType + "." + EnumMember(choices.InnerOptimizerNames, i) : AlgorithmDefaults + "ReptileOptimizer",
                    "Inner-loop optimiser (state reset for every task).");
                options.Number("AdamBeta1", DoubleOr(d.Named<double>(A, "AdamBeta1"), AlgorithmDefaults + "ReptileAdamBeta1"),
                    "β1 of the inner Adam.", OptionCheck.NonNegative);
                options.Integer("InnerBatch", IntOr(d.Named<int>(A, "InnerBatch"), AlgorithmDefaults + "ReptileInnerBatch", raw: true),
                    "Support points per inner step (-1: all).", OptionCheck.AtLeast(-1));
                options.Number("ClipNorm", DoubleOr(d.Named<double>(A, "ClipNorm"), AlgorithmDefaults + "ReptileClipNorm"),
                    "Clip each task's inner gradient to this norm (0: no clipping).", OptionCheck.NonNegative);
                required.Add(new("AdamBeta1 < 1", "--adam-beta1 must be below 1"));
                required.Add(new("InnerBatch != 0", "--inner-batch: '0' is not accepted; expected a number of support points ≥ 1, or -1 for all of them"));
                break;
            }
            case AlgorithmKind.Imaml:
            {
                const string A = KnownTypeNames.ImamlAttribute;
                options.Number("Lambda", DoubleOr(d.Named<double>(A, "Lambda"), AlgorithmDefaults + "ImamlLambda"),
                    "Proximal regularisation strength λ.", OptionCheck.Positive);
                options.Integer("CgSteps", IntOr(d.Named<int>(A, "CgSteps"), AlgorithmDefaults + "ImamlCgSteps", raw: true),
                    "Conjugate-gradient steps per meta-step.", OptionCheck.AtLeast(1));
                break;
            }
            case AlgorithmKind.MamlPlusPlus:
            {
                const string A = KnownTypeNames.MamlPlusPlusAttribute;
                options.Boolean("MultiStepLoss", BoolOr(d.Named<bool>(A, "MultiStepLoss"), AlgorithmDefaults + "MultiStepLoss"),
                    "Weighted sum of the query losses after every inner step.");
                options.Integer("MultiStepLossEpochs", IntOr(d.Named<int>(A, "MultiStepLossEpochs"), AlgorithmDefaults + "MultiStepLossEpochs", raw: true),
                    "Epochs over which the per-step loss weights anneal.", OptionCheck.AtLeast(1));
                options.Integer("IterationsPerEpoch", IntOr(d.Named<int>(A, "IterationsPerEpoch"), AlgorithmDefaults + "IterationsPerEpoch", raw: true),
                    "Meta-iterations per epoch (the unit of MAML++'s schedules).", OptionCheck.AtLeast(1));
                options.Boolean("LearnedLearningRates", BoolOr(d.Named<bool>(A, "LearnedLearningRates"), AlgorithmDefaults + "LearnedLearningRates"),
                    "Learn an inner learning rate per layer and step (LSLR).");
                options.Integer("FirstOrderEpochs", CSharpLiteral.Int32(d.Named<int>(A, "FirstOrderEpochs") ?? 0),
                    "Epochs of first-order meta-gradients before second order (derivative-order annealing).", OptionCheck.AtLeast(0));
                options.Number("GradientClamp", CSharpLiteral.Double(d.Named<double>(A, "GradientClamp") ?? 0),
                    "Clamp each meta-gradient element to ±this value (0: no clamping).", OptionCheck.NonNegative);
                options.Boolean("PerStepBatchNorm", CSharpLiteral.Boolean(d.Named<bool>(A, "PerStepBatchNorm") ?? false),
                    "Per-step batch norm: batch-norm weights and statistics per inner step.");
                required.Add(new("!MultiStepLoss || InnerSteps >= 2",
                    "--multi-step-loss needs --inner-steps ≥ 2 (with one step it is the ordinary MAML loss: pass --multi-step-loss false)"));
                break;
            }
        }
    }

    private static void AddRunOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family, ImmutableArray<string> initChoices,
        ImmutableArray<string> initNames)
    {
        var seed = d.Argument<long>(KnownTypeNames.SeedAttribute);
        options.Long("Seed", seed is { } s ? CSharpLiteral.Int64(s) : Defaults + "Seed", "The run seed.");
        var init = d.Argument<int>(KnownTypeNames.InitAttribute) is { } i ? EnumMember(initNames, i) : family.IsImage ? "PyTorch" : "Finn";
        options.Choice("Init", new TypeRef(WeightInitType), initChoices, WeightInitType + "." + init, "Weight initialisation.");
    }

    private static void AddFamilyOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family, EnumChoiceSet choices,
        List<RequirementSpec> required)
    {
        if (family.IsImage)
        {
            AddImageOptions(options, d, family, choices, required);
            return;
        }
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

    // Few-shot image families: ways, where the data is, the network's width, test-time steps and episodes.
    private static void AddImageOptions(OptionListBuilder options, ExperimentDeclaration d, TaskFamilySpec family, EnumChoiceSet choices,
        List<RequirementSpec> required)
    {
        var attribute = Families.First(f => f.Kind == family.Kind).MetadataName;
        options.Integer("Ways", IntOr(d.Named<int>(attribute, "Ways"), ImageDefaults + "Ways", raw: true), "Classes per task N.", OptionCheck.AtLeast(2));
        switch (family.Kind)
        {
            case TaskFamilyKind.Omniglot:
                options.Text("Data", ImageDefaults + "OmniglotFolder", "Omniglot folder (images_background/, images_evaluation/).", OptionCheck.NotEmpty);
                var split = d.Named<int>(attribute, "Split");
                options.Choice("Split", new TypeRef(OmniglotSplitType), choices.OmniglotSplit,
                    OmniglotSplitType + "." + EnumMember(choices.OmniglotSplitNames, split ?? 0), "Meta-train / meta-test class split.");
                break;
            case TaskFamilyKind.MiniImageNet:
                options.Text("Data", ImageDefaults + "MiniImageNetFolder", "Mini-ImageNet folder (train/ val/ test/ class folders or CSV splits).", OptionCheck.NotEmpty);
                break;
            case TaskFamilyKind.Glyphs:
                options.Text("Fonts", ImageDefaults + "FontFolder", "Folder of TrueType fonts the glyphs are rendered from.", OptionCheck.NotEmpty);
                break;
            case TaskFamilyKind.FashionMnist:
                options.Text("Data", ImageDefaults + "FashionMnistFolder", "Fashion-MNIST IDX folder (Debian's dataset-fashion-mnist).", OptionCheck.NotEmpty);
                required.Add(new("Ways <= 5", "--ways: Fashion-MNIST has 5 classes on each side of its split; expected 2 to 5"));
                break;
        }
        options.Integer("Filters", CSharpLiteral.Int32(family.Kind == TaskFamilyKind.MiniImageNet ? 32 : 64), "Filters per conv-4 block.", OptionCheck.AtLeast(1));
        var testSteps = d.Named<int>(attribute, "TestSteps") is > 0 and var t ? CSharpLiteral.Int32(t)
            : IntOr(d.Argument<int>(KnownTypeNames.InnerStepsAttribute), "InnerSteps");
        options.Integer("TestSteps", testSteps, "Inner steps when adapting to a test episode.", OptionCheck.AtLeast(1));
        options.Integer("EvalEpisodes", ImageDefaults + "EvalEpisodes", "Fixed test episodes of the final evaluation.", OptionCheck.AtLeast(2));
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

    private static void AddScratchCurveOptions(OptionListBuilder options, ExperimentDeclaration d)
    {
        const string A = KnownTypeNames.ScratchCurveAttribute;
        options.Integer("ScratchSteps", CSharpLiteral.Int32(d.Named<int>(A, "Steps") ?? 10), "Adam steps per episode of the from-scratch curve.", OptionCheck.AtLeast(1));
        options.Number("ScratchLr", CSharpLiteral.Double(d.Named<double>(A, "LearningRate") ?? 0.001), "Adam learning rate of the from-scratch curve.", OptionCheck.Positive);
        options.Integer("ScratchWindow", CSharpLiteral.Int32(d.Named<int>(A, "Window") ?? 300), "Iterations per window mean of the learning curves.", OptionCheck.AtLeast(1));
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

    private static string IntOr(int? value, string defaultsMember, bool raw = false) =>
        value is { } v ? CSharpLiteral.Int32(v) : raw || defaultsMember.StartsWith("global::", System.StringComparison.Ordinal) ? defaultsMember : Defaults + defaultsMember;

    private static string BoolOr(bool? value, string defaultExpression) =>
        value is { } v ? CSharpLiteral.Boolean(v) : defaultExpression;

    /// <summary>The enum member of value <paramref name="value"/> (members by value, 0..n−1).</summary>
    private static string EnumMember(ImmutableArray<string> names, int value) =>
        value >= 0 && value < names.Length ? names[value] : names[0];

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

/// <summary>The command-line choices (kebab case) and member names (by value) of the runtime enums options use.</summary>
internal sealed record EnumChoiceSet(
    ImmutableArray<string> Init, ImmutableArray<string> InitNames, ImmutableArray<string> NonFinite, ImmutableArray<string> Distributed, ImmutableArray<string> Sampler,
    ImmutableArray<string> MetaOptimizer, ImmutableArray<string> MetaOptimizerNames, ImmutableArray<string> Schedule, ImmutableArray<string> ScheduleNames,
    ImmutableArray<string> InnerOptimizer, ImmutableArray<string> InnerOptimizerNames, ImmutableArray<string> OmniglotSplit, ImmutableArray<string> OmniglotSplitNames);
