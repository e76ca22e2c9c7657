using Meta.Generators.Diagnostics;
using Meta.Generators.Emitting;
using Microsoft.CodeAnalysis;

namespace Meta.Tests.Generators;

/// <summary>
/// Every id of the catalogue is reported by the analyzer, at the right place, for a minimal trigger; for an invalid
/// experiment the generator emits nothing (only the catalog) and reports nothing itself.
/// </summary>
public sealed class DiagnosticTests
{
    [Fact]
    public async Task ValidSamplesReportNothing()
    {
        var compilation = GeneratorHarness.Compile(Samples.SineMaml, Samples.FirstOrderDefaults, Samples.NestedInGlobalNamespace, Samples.AnotherExperiment);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
    }

    [Fact]
    public Task META001_ExperimentMustBePartial() => AssertReports(DiagnosticIds.ExperimentMustBePartial, "Plain", """
        [Experiment("plain"), Sinusoid, Maml]
        public class Plain;
        """);

    [Fact]
    public async Task META002_DuplicateExperimentName()
    {
        var compilation = GeneratorHarness.Compile(Usings + """
            [Experiment("same"), Sinusoid, Maml] public partial class A;
            [Experiment("same"), Sinusoid, Maml] public partial class B;
            """);
        var diagnostics = await GeneratorHarness.AnalyzeAsync(compilation);
        Assert.Equal(2, diagnostics.Length);
        Assert.All(diagnostics, d => Assert.Equal(DiagnosticIds.DuplicateExperimentName, d.Id));
        Assert.All(diagnostics, d => Assert.Equal("\"same\"", SourceText(d)));
        Assert.Contains("'Lab.A', 'Lab.B'", diagnostics[0].GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sine-Maml")]
    [InlineData("sine_maml")]
    [InlineData("-sine")]
    [InlineData("sine-")]
    [InlineData("sine--maml")]
    [InlineData("")]
    public Task META003_InvalidExperimentName(string name) => AssertReports(DiagnosticIds.InvalidExperimentName, $"\"{name}\"", $$"""
        [Experiment("{{name}}"), Sinusoid, Maml]
        public partial class Named;
        """);

    [Theory]
    [InlineData("sine")]
    [InlineData("sine-maml-2")]
    [InlineData("3d")]
    public async Task META003_AcceptsKebabCase(string name)
    {
        var compilation = GeneratorHarness.Compile(Usings + $$"""
            [Experiment("{{name}}"), Sinusoid, Maml]
            public partial class Named;
            """);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
    }

    [Fact]
    public Task META004_MissingTaskFamily() => AssertReports(DiagnosticIds.MissingTaskFamily, "NoFamily", """
        [Experiment("no-family"), Maml]
        public partial class NoFamily;
        """);

    [Fact]
    public Task META005_MissingAlgorithm() => AssertReports(DiagnosticIds.MissingAlgorithm, "NoAlgorithm", """
        [Experiment("no-algorithm"), Sinusoid]
        public partial class NoAlgorithm;
        """);

    [Fact]
    public Task META006_ContainingTypeMustBePartial() => AssertReports(DiagnosticIds.ContainingTypeMustBePartial, "Outer", """
        public class Outer
        {
            [Experiment("inner"), Sinusoid, Maml]
            public partial class Inner;
        }
        """);

    [Fact]
    public Task META007_ExperimentMustNotBeGeneric() => AssertReports(DiagnosticIds.ExperimentMustNotBeGeneric, "Generic", """
        [Experiment("generic"), Sinusoid, Maml]
        public partial class Generic<T>;
        """);

    [Theory]
    [InlineData("private")]
    [InlineData("protected")]
    [InlineData("private protected")]
    public Task META008_ExperimentMustBeAccessible(string modifier) => AssertReports(DiagnosticIds.ExperimentMustBeAccessible, "Hidden", $$"""
        public partial class Outer
        {
            [Experiment("hidden"), Sinusoid, Maml]
            {{modifier}} partial class Hidden;
        }
        """);

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public Task META101_InnerStepsTooSmall(string steps) => AssertReports(DiagnosticIds.InnerStepsTooSmall, steps, $$"""
        [Experiment("steps"), Sinusoid, Maml, InnerSteps({{steps}})]
        public partial class Steps;
        """);

    [Theory]
    [InlineData("InnerLr", "0")]
    [InlineData("InnerLr", "-0.01")]
    [InlineData("MetaLr", "double.NaN")]
    [InlineData("MetaLr", "double.PositiveInfinity")]
    public Task META102_LearningRateNotPositive(string attribute, string rate) => AssertReports(DiagnosticIds.LearningRateNotPositive, rate, $$"""
        [Experiment("rates"), Sinusoid, Maml, {{attribute}}({{rate}})]
        public partial class Rates;
        """);

    [Theory]
    [InlineData("MetaBatch(0)", "0")]
    [InlineData("Shots(0)", "0")]
    [InlineData("Shots(5, Query = -1)", "Query = -1")]
    [InlineData("Iterations(-1)", "-1")]
    public Task META103_CountTooSmall(string attribute, string where) => AssertReports(DiagnosticIds.CountTooSmall, where, $$"""
        [Experiment("counts"), Sinusoid, Maml, {{attribute}}]
        public partial class Counts;
        """);

    [Fact]
    public async Task META103_QueryZeroMeansSameAsSupport()
    {
        var compilation = GeneratorHarness.Compile(Usings + """
            [Experiment("query"), Sinusoid, Maml, Shots(5, Query = 0)]
            public partial class Query;
            """);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
    }

    [Theory]
    [InlineData("Sinusoid(AmplitudeMin = -0.5)", "AmplitudeMin = -0.5")]          // [Option(NonNegative = true)]
    [InlineData("Sinusoid(PhaseMin = 1, PhaseMax = 1)", "PhaseMax = 1")]          // [Option(Above = PhaseMin)]
    [InlineData("Sinusoid(InputMax = double.NaN)", "InputMax = double.NaN")]      // not finite
    [InlineData("Sinusoid, Imaml(Lambda = 0)", "Lambda = 0")]                     // Positive
    [InlineData("Sinusoid, Imaml(CgSteps = 0)", "CgSteps = 0")]                   // Minimum = 1
    [InlineData("Sinusoid, Reptile(ClipNorm = -1)", "ClipNorm = -1")]
    [InlineData("Sinusoid, MamlPlusPlus(IterationsPerEpoch = 0), InnerSteps(5)", "IterationsPerEpoch = 0")]
    [InlineData("Omniglot(Ways = 1)", "Ways = 1")]
    [InlineData("Glyphs(TestSteps = -1)", "TestSteps = -1")]
    [InlineData("Sinusoid, Sampler(SamplerKind.ImportanceDelta, PhaseBlock = 0)", "PhaseBlock = 0")]     // a family's [SamplerOnly] option
    [InlineData("Sinusoid, Default(\"Hidden\", new[] { 40, 0 })", "new[] { 40, 0 }")]    // every element ≥ 1
    [InlineData("Sinusoid, Default(\"EvalTasks\", \"many\")", "\"many\"")]              // wrong kind
    public Task META104_InvalidOptionDefault(string attributes, string where) => AssertReports(DiagnosticIds.InvalidOptionDefault, where,
        (attributes.Contains("Maml", StringComparison.Ordinal) || attributes.Contains("Imaml", StringComparison.Ordinal) || attributes.Contains("Reptile", StringComparison.Ordinal)
            ? $$"""
            [Experiment("bad-default"), {{attributes}}]
            public partial class BadDefault;
            """
            : $$"""
            [Experiment("bad-default"), {{attributes}}, Maml]
            public partial class BadDefault;
            """));

    [Fact]
    public Task META009_SeveralTaskFamilies() => AssertReports(DiagnosticIds.SeveralTaskFamilies, "Both", """
        [Experiment("both"), Sinusoid, Sinusoid3D, Maml]
        public partial class Both;
        """);

    [Theory]
    [InlineData("Steps = 0", "META103")]
    [InlineData("Window = -3", "META103")]
    [InlineData("LearningRate = 0", "META102")]
    public Task ScratchCurveSettingsAreChecked(string property, string id) => AssertReports(id, property, $$"""
        [Experiment("curve"), Sinusoid, Maml, ScratchCurve({{property}})]
        public partial class Curve;
        """);

    [Fact]
    public Task META010_SeveralAlgorithms_SecondOrderReptile() => AssertReports(DiagnosticIds.SeveralAlgorithms, "TwoAlgorithms", """
        [Experiment("two-algorithms"), Sinusoid, Reptile, Maml(FirstOrder = false)]
        public partial class TwoAlgorithms;
        """);

    [Theory]
    [InlineData("Maml, MetaLr(0.001, Schedule = LrSchedule.Cosine, Minimum = 0.01)", "Minimum = 0.01")]
    [InlineData("MetaSgd, MetaLr(0.001, LearnedRateScale = 0)", "LearnedRateScale = 0")]
    public Task META106_InvalidAlgorithmSetting(string attributes, string where) => AssertReports(DiagnosticIds.InvalidAlgorithmSetting, where, $$"""
        [Experiment("bad-knob"), Sinusoid, {{attributes}}]
        public partial class BadKnob;
        """);

    [Fact]
    public Task META011_SeveralNetworks() => AssertReports(DiagnosticIds.SeveralNetworks, "TwoNets", """
        [Experiment("two-nets"), Sinusoid, Maml, Network<Meta.Functional.MlpNetwork>, Network<Meta.Functional.ConvNetwork>]
        public partial class TwoNets;
        """);

    [Fact]
    public Task META012_MissingNetwork() => AssertReports(DiagnosticIds.MissingNetwork, "Tasks<NoNetFamily>", UserFamily("NoNetFamily", defaultNetwork: false) + """
        [Experiment("no-net"), Tasks<NoNetFamily>, Maml]
        public partial class NoNet;
        """);

    [Fact]
    public Task META020_ComponentContract() => AssertReports(DiagnosticIds.ComponentContract, "Algorithm<NotAnAlgorithm>", """
        public sealed class NotAnAlgorithm { }
        [Experiment("not-an-algorithm"), Sinusoid, Algorithm<NotAnAlgorithm>]
        public partial class NotOne;
        """);

    [Fact]
    public Task META021_ComponentConstructor() => AssertReports(DiagnosticIds.ComponentConstructor, "Network<WideNet>", """
        public sealed class WideNet(int width) : INetworkDefinition
        {
            public Meta.Functional.IFunctionalNetwork Create(NetworkContext context) => new Meta.Functional.Mlp(1, width, 1);
        }
        [Experiment("wide"), Sinusoid, Maml, Network<WideNet>]
        public partial class Wide;
        """);

    [Theory]
    [InlineData("public float Scale { get; set; } = 1;", "Scale")]         // unsupported type
    [InlineData("public int Width { get; } = 3;", "Width")]                // no setter
    public Task META022_UnsupportedOption(string property, string where) => AssertReports(DiagnosticIds.UnsupportedOption, where, $$"""
        public sealed class OddNet : INetworkDefinition
        {
            [Option("An option.")]
            {{property}}
            public Meta.Functional.IFunctionalNetwork Create(NetworkContext context) => new Meta.Functional.Mlp(1, 40, 1);
        }
        [Experiment("odd"), Sinusoid, Maml, Network<OddNet>]
        public partial class Odd;
        """);

    [Fact]
    public Task META023_DuplicateOption() => AssertReports(DiagnosticIds.DuplicateOption, "Clash", """
        public sealed class ShotsNet : INetworkDefinition
        {
            [Option("Clashes with the family's Shots.")]
            public int Shots { get; set; } = 3;
            public Meta.Functional.IFunctionalNetwork Create(NetworkContext context) => new Meta.Functional.Mlp(1, 40, 1);
        }
        [Experiment("clash"), Sinusoid, Maml, Network<ShotsNet>]
        public partial class Clash;
        """);

    [Theory]
    [InlineData("Default(\"Widths\", 3)", "3")]
    [InlineData("Sinusoid(AmplitudeMin = 1), Reptile(InnerOptimizer = Meta.Algorithms.InnerOptimizer.Adam), Default(\"NoSuchOption\", true)", "true")]
    public Task META024_UnknownOption(string attributes, string where) => AssertReports(DiagnosticIds.UnknownOption, where, $$"""
        [Experiment("unknown"), {{(attributes.Contains("Reptile", StringComparison.Ordinal) ? "" : "Sinusoid, Maml, ")}}{{attributes}}]
        public partial class Unknown;
        """);

    [Fact]
    public async Task UserComponentsReportNothingAndGenerate()
    {
        var compilation = GeneratorHarness.Compile(Usings + UserFamily("LineFamily", defaultNetwork: true) + """
            [Experiment("lines"), Tasks<LineFamily>, Maml, Default("Slope", 2.5), Default("Hidden", new[] { 8, 8 })]
            public partial class Lines;
            """);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
        var output = GeneratorHarness.Generate(compilation);
        Assert.Empty(output.Diagnostics);
        var source = output.Sources["Lab.Lines.g.cs"];
        Assert.Contains("public double Slope { get; set; } = 2.5;", source, StringComparison.Ordinal);
        Assert.Contains("public int[] Hidden { get; set; } = [8, 8];", source, StringComparison.Ordinal);
        Assert.Contains("new(\"slope\", \"Slope\", global::Meta.Hosting.OptionKind.Number, \"Slope of the lines.\")", source, StringComparison.Ordinal);
        Assert.Contains("global::Meta.Hosting.OptionChecks.Positive(Slope, \"slope\");", source, StringComparison.Ordinal);
    }

    /// <summary>A user's task family over lines y = a·x, with one option.</summary>
    private static string UserFamily(string name, bool defaultNetwork) => $$"""
        {{(defaultNetwork ? "[DefaultNetwork<Meta.Functional.MlpNetwork>]" : "")}}
        public sealed class {{name}} : ITaskFamily
        {
            [Option("Slope of the lines.", Positive = true)]
            public double Slope { get; set; } = 1;
            public TaskShape Shape { get; } = new([1], 1, false);
            public Meta.Algorithms.ITaskLoss Loss => Meta.Algorithms.TaskLoss.MeanSquaredErrorLoss;
            public void Prepare(FamilyContext context) { }
            public Meta.Tasks.Episode Draw(int tasks, TorchSharp.torch.Generator generator) => throw new System.NotImplementedException();
            public Meta.Evaluation.EvaluationReport? Evaluate(EvaluationContext context) => null;
        }

        """;


    [Fact]
    public Task META202_SamplerNeedsContinuousFamily() => AssertReports(DiagnosticIds.SamplerNeedsContinuousFamily, "Sampler(SamplerKind.Weighted)", """
        [Experiment("sampled-glyphs"), Glyphs, Maml, Sampler(SamplerKind.Weighted)]
        public partial class SampledGlyphs;
        """);

    [Theory]
    [InlineData("EpsilonStart = 1.5", "EpsilonStart = 1.5")]
    [InlineData("EpsilonFinal = 0.5, EpsilonStart = 0.2", "EpsilonFinal = 0.5")]
    [InlineData("EpsilonDecayRate = -1", "EpsilonDecayRate = -1")]
    [InlineData("InitialLoss = 0", "InitialLoss = 0")]
    public Task META105_InvalidSamplerSetting(string properties, string where) => AssertReports(DiagnosticIds.InvalidSamplerSetting, where, $$"""
        [Experiment("sampled"), Sinusoid, Maml, Sampler(SamplerKind.EpsilonGreedy, {{properties}})]
        public partial class Sampled;
        """);

    [Fact]
    public async Task META105_ValidSamplerSettingsReportNothing()
    {
        var compilation = GeneratorHarness.Compile(Usings + """
            [Experiment("sampled"), Sinusoid3D, Maml, Sampler(SamplerKind.ImportanceDelta, EpsilonStart = 0.5, EpsilonFinal = 0.5, FrequencyBlock = 0.25)]
            public partial class Sampled;
            """);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
    }

    [Fact]
    public void EveryIdHasADescriptorWithHelpLinkAndDocsSection()
    {
        var ids = typeof(DiagnosticIds).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToList();
        var supported = new Meta.Generators.Diagnostics.Analyzers.ExperimentDeclarationAnalyzer().SupportedDiagnostics;
        Assert.Equal(ids.Order(StringComparer.Ordinal), supported.Select(d => d.Id).Order(StringComparer.Ordinal));

        var docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "diagnostics.md"));
        var shipped = File.ReadAllText(Path.Combine(RepositoryRoot(), "Meta.Generators", "AnalyzerReleases.Unshipped.md"));
        foreach (var descriptor in supported)
        {
            Assert.Equal("https://github.com/meta-learning/meta/blob/main/docs/diagnostics.md#" + descriptor.Id.ToLowerInvariant(), descriptor.HelpLinkUri);
            Assert.Contains($"## {descriptor.Id}", docs, StringComparison.Ordinal);
            Assert.Contains($"{descriptor.Id} |", shipped, StringComparison.Ordinal);
        }
    }

    private const string Usings = """
        using Meta;

        namespace Lab;


        """;

    /// <summary>
    /// <paramref name="source"/> makes the analyzer report <paramref name="id"/> and nothing else, at text
    /// <paramref name="at"/>; the generator then emits only the (empty) catalog and reports nothing.
    /// </summary>
    private static async Task AssertReports(string id, string at, string source)
    {
        var compilation = GeneratorHarness.Compile(Usings + source);
        var diagnostics = await GeneratorHarness.AnalyzeAsync(compilation);
        Assert.NotEmpty(diagnostics);
        Assert.All(diagnostics, d => Assert.Equal(id, d.Id));
        Assert.All(diagnostics, d => Assert.Equal(DiagnosticSeverity.Error, d.Severity));
        Assert.Contains(diagnostics, d => SourceText(d) == at);

        var output = GeneratorHarness.Generate(compilation);
        Assert.Empty(output.Diagnostics);
        Assert.Equal([ExperimentEmitter.CatalogHintName], output.Sources.Keys);
    }

    private static string SourceText(Diagnostic diagnostic) =>
        diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan);

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
