namespace Meta.Generators;

/// <summary>
/// Metadata names of the runtime types the generator reads. The generator cannot reference Meta.Runtime (it would drag
/// TorchSharp into the compiler), so they are strings; a test checks each against <c>typeof(X).FullName</c>.
/// </summary>
public static class KnownTypeNames
{
    /// <summary>The one attribute that triggers generation.</summary>
    public const string ExperimentAttribute = "Meta.ExperimentAttribute";

    /// <summary>Task family: sinusoid regression.</summary>
    public const string SinusoidAttribute = "Meta.SinusoidAttribute";

    /// <summary>Task family: 3-D sinusoids (seed 000).</summary>
    public const string Sinusoid3DAttribute = "Meta.Sinusoid3DAttribute";

    /// <summary>Task sampling regime (seed 000's priority queue).</summary>
    public const string SamplerAttribute = "Meta.SamplerAttribute";

    /// <summary>The sampling regimes, whose members become the <c>--sampler</c> choices.</summary>
    public const string SamplerKind = "Meta.SamplerKind";

    /// <summary>Algorithm: MAML.</summary>
    public const string MamlAttribute = "Meta.MamlAttribute";

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

    /// <summary>What the catalog lists; its presence means Meta.Runtime is referenced.</summary>
    public const string ExperimentDescriptor = "Meta.Hosting.ExperimentDescriptor";
}
