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
