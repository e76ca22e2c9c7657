namespace Meta.Generators;

/// <summary>
/// Metadata names of the runtime types the generator reads. The generator cannot reference Meta.Runtime (it would drag
/// TorchSharp into the compiler), so they are strings; a test checks each against <c>typeof(X).FullName</c>.
/// </summary>
public static class KnownTypeNames
{
    /// <summary>The one attribute that triggers generation.</summary>
    public const string ExperimentAttribute = "Meta.ExperimentAttribute";

    /// <summary>Task sampling regime (seed 000's priority queue).</summary>
    public const string SamplerAttribute = "Meta.SamplerAttribute";

    /// <summary>The sampling regimes, whose members become the <c>--sampler</c> choices.</summary>
    public const string SamplerKind = "Meta.SamplerKind";

    /// <summary>The meta-optimisers, the <c>--meta-optimizer</c> choices.</summary>
    public const string MetaOptimizerKind = "Meta.MetaOptimizerKind";

    /// <summary>The meta learning-rate schedules, the <c>--meta-lr-schedule</c> choices.</summary>
    public const string LrSchedule = "Meta.LrSchedule";

    /// <summary>The from-scratch learning curve beside meta-training (seed 002).</summary>
    public const string ScratchCurveAttribute = "Meta.ScratchCurveAttribute";

    /// <summary>The weight initialisation.</summary>
    public const string InitAttribute = "Meta.InitAttribute";

    /// <summary>Inner SGD steps.</summary>
    public const string InnerStepsAttribute = "Meta.InnerStepsAttribute";

    /// <summary>Inner learning rate.</summary>
    public const string InnerLrAttribute = "Meta.InnerLrAttribute";

    /// <summary>Meta learning rate.</summary>
    public const string MetaLrAttribute = "Meta.MetaLrAttribute";

    /// <summary>Tasks per meta-batch.</summary>
    public const string MetaBatchAttribute = "Meta.MetaBatchAttribute";

    /// <summary>Support (and query) points per task.</summary>
    public const string ShotsAttribute = "Meta.ShotsAttribute";

    /// <summary>Meta-iterations.</summary>
    public const string IterationsAttribute = "Meta.IterationsAttribute";

    /// <summary>The run seed.</summary>
    public const string SeedAttribute = "Meta.SeedAttribute";

    /// <summary>The weight initialisation enum, whose members become the <c>--init</c> choices.</summary>
    public const string WeightInit = "Meta.Functional.WeightInit";

    /// <summary>What a NaN or infinity does; its members become the <c>--on-non-finite</c> choices.</summary>
    public const string NonFinitePolicy = "Meta.Hosting.NonFinitePolicy";

    /// <summary>How training is spread over processes; its members become the <c>--distributed</c> choices.</summary>
    public const string DistributedMode = "Meta.Distributed.DistributedMode";

    /// <summary>How a run uses its threads; its members become the <c>--parallelism</c> choices.</summary>
    public const string Parallelism = "Meta.Training.Parallelism";

    /// <summary>What the catalog lists; its presence means Meta.Runtime is referenced.</summary>
    public const string ExperimentDescriptor = "Meta.Hosting.ExperimentDescriptor";

    /// <summary><c>[Default(option, value)]</c>.</summary>
    public const string DefaultAttribute = "Meta.DefaultAttribute";

    /// <summary><c>[Option]</c> on a component property.</summary>
    public const string OptionAttribute = "Meta.OptionAttribute";

    /// <summary><c>[SamplerOnly]</c> on a component property.</summary>
    public const string SamplerOnlyAttribute = "Meta.SamplerOnlyAttribute";

    /// <summary><c>[DefaultNetwork&lt;T&gt;]</c> on a task family (metadata name of the generic definition).</summary>
    public const string DefaultNetworkAttribute = "Meta.DefaultNetworkAttribute`1";

    /// <summary>The task family contract.</summary>
    public const string TaskFamily = "Meta.ITaskFamily";

    /// <summary>The task family contract a <c>[Sampler]</c> needs.</summary>
    public const string SampledTaskFamily = "Meta.ISampledTaskFamily";

    /// <summary>The network definition contract.</summary>
    public const string NetworkDefinition = "Meta.INetworkDefinition";

    /// <summary>The algorithm definition contract.</summary>
    public const string AlgorithmDefinition = "Meta.IAlgorithmDefinition";

    /// <summary>Algorithm definitions with learned inner rates.</summary>
    public const string LearnsInnerRates = "Meta.ILearnsInnerRates";

    /// <summary>Components that check their options together.</summary>
    public const string ValidatedComponent = "Meta.IValidatedComponent";
}
