using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ApprovalTests;

namespace Meta.Tests.Generators.Snapshots;

/// <summary>
/// The generated sources, approved by eye and kept beside this file (<c>*.approved.cs</c>). Every snapshot's output also
/// compiles with no error and no warning at the highest warning level, and the analyzer stays silent on it.
/// </summary>
public sealed partial class SnapshotTests
{
    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void SineMaml()
    {
        var output = GenerateValid(Samples.SineMaml);
        Assert.Equal(["Meta.ExperimentCatalog.g.cs", "Meta.Experiments.SineMaml.g.cs"], output.Sources.Keys.Order(StringComparer.Ordinal));
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.SineMaml.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void FirstOrderWithRuntimeDefaults()
    {
        var output = GenerateValid(Samples.FirstOrderDefaults);
        Approvals.VerifyWithExtension(output.Sources["Contoso.Research.FirstOrderDefaults.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void NestedRecordInGlobalNamespace()
    {
        var output = GenerateValid(Samples.NestedInGlobalNamespace);
        Assert.Equal(["Meta.ExperimentCatalog.g.cs", "Suite.Nested.g.cs"], output.Sources.Keys.Order(StringComparer.Ordinal));
        Approvals.VerifyWithExtension(output.Sources["Suite.Nested.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void TaskWeighted3DWithSampler()
    {
        var output = GenerateValid("""
            using Meta;

            namespace Meta.Experiments;

            [Experiment("tw3d-pq-importance-delta")]
            [Sinusoid3D(FrequencyMax = 1.5), Maml, Sampler(SamplerKind.ImportanceDelta, SelfNormalise = true, FrequencyBlock = 0.25)]
            [MetaLr(0.01), Iterations(500)]
            public partial class TaskWeighted;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.TaskWeighted.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void ReptileWithAdamInnerLoop()
    {
        var output = GenerateValid("""
            using Meta;
            using Meta.Algorithms;

            namespace Meta.Experiments;

            [Experiment("sine-reptile")]
            [Sinusoid, Reptile(InnerOptimizer = InnerOptimizer.Adam, InnerBatch = 10, ClipNorm = 4)]
            [InnerSteps(5), MetaLr(0.1, Schedule = LrSchedule.LinearDecay)]
            public partial class SineReptile;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.SineReptile.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void MamlPlusPlusWithAnnealing()
    {
        var output = GenerateValid("""
            using Meta;

            namespace Meta.Experiments;

            [Experiment("sine-maml-plus-plus")]
            [Sinusoid, MamlPlusPlus(FirstOrderEpochs = 2, GradientClamp = 10, IterationsPerEpoch = 1000)]
            [InnerSteps(5)]
            public partial class SineMamlPlusPlus;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.SineMamlPlusPlus.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void ImamlAndTheOtherAlgorithmsCompile()
    {
        var output = GenerateValid("""
            using Meta;

            namespace Meta.Experiments;

            [Experiment("sine-imaml"), Sinusoid, Imaml(Lambda = 2, CgSteps = 10, TruncateCg = false), InnerSteps(10), MetaLr(0.001, GradientClip = 1.5)] public partial class SineImaml;
            [Experiment("sine-meta-sgd"), Sinusoid3D, MetaSgd] public partial class SineMetaSgd;
            [Experiment("sine-meta-curvature"), Sinusoid, MetaCurvature(LearnedLearningRates = true), InnerSteps(5)] public partial class SineMetaCurvature;
            [Experiment("sine-anil"), Sinusoid, Anil(FirstOrder = true)] public partial class SineAnil;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.SineImaml.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void OmniglotFewShot()
    {
        var output = GenerateValid("""
            using Meta;
            using Meta.Tasks.Images;

            namespace Meta.Experiments;

            [Experiment("omniglot-5w1s")]
            [Omniglot(Ways = 5, Split = OmniglotSplit.Alphabets, TestSteps = 3), Maml]
            [Shots(1, Query = 1), InnerLr(0.4), MetaBatch(32), Iterations(60000)]
            public partial class Omniglot5Way1Shot;

            [Experiment("mini-5w5s"), MiniImageNet, Reptile, Shots(5)] public partial class Mini;
            [Experiment("glyphs-5w1s"), Glyphs, MamlPlusPlus(PerStepBatchNorm = true), InnerSteps(2)] public partial class GlyphsPlus;
            [Experiment("fashion-5w1s"), FashionMnist, Imaml] public partial class Fashion;
            [Experiment("fashion-anil"), FashionMnist, Anil] public partial class FashionAnil;
            [Experiment("fashion-curvature"), FashionMnist, MetaCurvature(LearnedLearningRates = true)] public partial class FashionCurvature;
            [Experiment("fashion-meta-sgd"), FashionMnist, MetaSgd] public partial class FashionMetaSgd;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.Omniglot5Way1Shot.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void AssignmentWithScratchCurve()
    {
        var output = GenerateValid("""
            using Meta;
            using Meta.Functional;

            namespace Meta.Experiments;

            [Experiment("seed002-maml-s1"), Sinusoid, Maml, ScratchCurve(Window = 300), Init(WeightInit.PyTorch)]
            [Shots(10, Query = 40), MetaBatch(1), Iterations(40_000)]
            public partial class Assignment;
            """);
        Approvals.VerifyWithExtension(output.Sources["Meta.Experiments.Assignment.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void CatalogOfTwoExperiments()
    {
        var output = GenerateValid(Samples.SineMaml, Samples.AnotherExperiment);
        Assert.Equal(3, output.Sources.Count);
        Approvals.VerifyWithExtension(output.Sources["Meta.ExperimentCatalog.g.cs"], ".cs", Scrub);
    }

    [Fact]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void DiagnosticsOfInvalidExperiments()
    {
        var compilation = GeneratorHarness.Compile(InvalidExperiments);
        var output = GeneratorHarness.Generate(compilation);
        Assert.Empty(output.Diagnostics);   // the generator stays silent; the analyzer explains

        var report = "Analyzer diagnostics:\n" + GeneratorHarness.Format(GeneratorHarness.Analyze(compilation))
            + "\nGenerated sources (only the valid experiments):\n"
            + string.Concat(output.Sources.Keys.Order(StringComparer.Ordinal).Select(k => k + "\n"));
        Approvals.Verify(report);
    }

    private const string InvalidExperiments = """
        using Meta;

        namespace Lab;

        [Experiment("Sine_MAML")]
        [Sinusoid(AmplitudeMin = -1)]
        [Maml]
        [InnerSteps(0), InnerLr(0), MetaLr(double.NaN), MetaBatch(0), Shots(0, Query = -1), Iterations(-5)]
        public class NotPartial;

        [Experiment("no-family-no-algorithm")]
        public partial class Bare;

        [Experiment("twice"), Sinusoid, Maml] public partial class First;
        [Experiment("twice"), Sinusoid, Maml] public partial class Second;

        public class Outer
        {
            [Experiment("hidden"), Sinusoid(PhaseMin = 2, PhaseMax = 1), Maml] private partial class Hidden;
        }

        public partial class Generic<T>
        {
            [Experiment("generic"), Sinusoid, Maml] public partial class Inner;
        }
        """;

    /// <summary>Generates from valid sources and checks the output compiles cleanly and the analyzer agrees.</summary>
    private static GeneratorOutput GenerateValid(params string[] sources)
    {
        var compilation = GeneratorHarness.Compile(sources);
        Assert.Equal("", GeneratorHarness.Format(GeneratorHarness.ErrorsAndWarnings(compilation)));   // the input alone is clean too
        var output = GeneratorHarness.Generate(compilation);
        Assert.Empty(output.Diagnostics);
        Assert.Equal("", GeneratorHarness.Format(GeneratorHarness.ErrorsAndWarnings(output.Compilation)));
        Assert.Equal("", GeneratorHarness.Format(GeneratorHarness.Analyze(compilation)));
        return output;
    }

    /// <summary>Replaces the generator's assembly version, which changes with every release.</summary>
    private static string Scrub(string text) =>
        VersionPattern().Replace(text, "GeneratedCode(\"Meta.Generators\", \"<version>\")");

    [GeneratedRegex("""GeneratedCode\("Meta\.Generators", "[^"]*"\)""")]
    private static partial Regex VersionPattern();
}
