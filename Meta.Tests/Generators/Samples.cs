namespace Meta.Tests.Generators;

/// <summary>Experiment sources used by the generator tests.</summary>
internal static class Samples
{
    /// <summary>The shipped sine-maml experiment, as in Meta.Experiments/SineMaml.cs.</summary>
    public const string SineMaml = """
        using Meta;

        namespace Meta.Experiments;

        /// <summary>Second-order MAML on 2-D sinusoid regression with the MAML paper's settings (Finn et al. 2017, §5.1).</summary>
        [Experiment("sine-maml", Description = "Second-order MAML on sinusoid regression (Finn et al. 2017): K = 10, one inner step at α = 0.01, meta-batch 25.")]
        [Sinusoid]
        [Maml]
        [InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10)]
        [Iterations(20_000), Seed(1)]
        public partial class SineMaml;
        """;

    /// <summary>First-order MAML with every knob left to the runtime's defaults.</summary>
    public const string FirstOrderDefaults = """
        using Meta;

        namespace Contoso.Research;

        [Experiment("fomaml-defaults")]
        [Sinusoid]
        [Maml(FirstOrder = true)]
        internal partial class FirstOrderDefaults;
        """;

    /// <summary>An experiment record nested in a partial class of the global namespace, with sinusoid ranges and Query set.</summary>
    public const string NestedInGlobalNamespace = """
        using Meta;

        public static partial class Suite
        {
            [Experiment("nested-sine", Description = "Narrow \"phase\" band, 5-shot support, 15-point query.")]
            [Sinusoid(AmplitudeMax = 2.5, PhaseMin = -0.5, PhaseMax = 1E-3, InputMin = -2)]
            [Maml]
            [Shots(5, Query = 15), InnerSteps(3), InnerLr(1e-2), MetaLr(3e-4), Seed(-42), Iterations(100)]
            internal partial record Nested;
        }
        """;

    /// <summary>A second experiment, in another namespace, whose name sorts before sine-maml.</summary>
    public const string AnotherExperiment = """
        namespace Lab.Other
        {
            [Meta.Experiment("another-sine")]
            [Meta.Sinusoid]
            [Meta.Maml(FirstOrder = true)]
            [Meta.MetaBatch(4)]
            public partial class Another { }
        }
        """;
}
