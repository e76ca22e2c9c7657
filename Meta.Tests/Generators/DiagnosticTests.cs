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
    [InlineData("AmplitudeMin = -0.5", "AmplitudeMin = -0.5")]              // negative amplitude
    [InlineData("AmplitudeMax = 0.05", "AmplitudeMax = 0.05")]              // below the default minimum 0.1
    [InlineData("PhaseMin = 1, PhaseMax = 1", "PhaseMin = 1")]             // empty
    [InlineData("InputMax = double.NaN", "InputMax = double.NaN")]          // not finite
    public Task META104_InvalidSinusoidRange(string properties, string where) => AssertReports(DiagnosticIds.InvalidSinusoidRange, where, $$"""
        [Experiment("ranges"), Sinusoid({{properties}}), Maml]
        public partial class Ranges;
        """);

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
    [InlineData("Imaml(Lambda = 0)", "Lambda = 0")]
    [InlineData("Imaml(Lambda = -2.5)", "Lambda = -2.5")]
    [InlineData("Imaml(CgSteps = 0)", "CgSteps = 0")]
    [InlineData("Reptile(InnerBatch = 0)", "InnerBatch = 0")]
    [InlineData("Reptile(ClipNorm = -1)", "ClipNorm = -1")]
    [InlineData("Reptile(AdamBeta1 = 1)", "AdamBeta1 = 1")]
    [InlineData("MamlPlusPlus(MultiStepLossEpochs = 0), InnerSteps(5)", "MultiStepLossEpochs = 0")]
    [InlineData("MamlPlusPlus(IterationsPerEpoch = 0), InnerSteps(5)", "IterationsPerEpoch = 0")]
    [InlineData("MamlPlusPlus(GradientClamp = -1), InnerSteps(5)", "GradientClamp = -1")]
    [InlineData("Maml, MetaLr(0.001, Schedule = LrSchedule.Cosine, Minimum = 0.01)", "Minimum = 0.01")]
    [InlineData("MetaSgd, MetaLr(0.001, LearnedRateScale = 0)", "LearnedRateScale = 0")]
    public Task META106_InvalidAlgorithmSetting(string attributes, string where) => AssertReports(DiagnosticIds.InvalidAlgorithmSetting, where, $$"""
        [Experiment("bad-knob"), Sinusoid, {{attributes}}]
        public partial class BadKnob;
        """);

    [Theory]
    [InlineData("Omniglot(Ways = 1)", "Ways = 1")]
    [InlineData("FashionMnist(Ways = 6)", "Ways = 6")]
    [InlineData("Glyphs(TestSteps = -1)", "TestSteps = -1")]
    public Task META107_InvalidFamilySetting(string family, string where) => AssertReports(DiagnosticIds.InvalidFamilySetting, where, $$"""
        [Experiment("bad-family"), {{family}}, Maml]
        public partial class BadFamily;
        """);

    [Theory]
    [InlineData("[InnerSteps(1)]", "1")]
    [InlineData("", "MamlPlusPlus")]
    public Task META201_MultiStepLossNeedsSteps(string steps, string where) => AssertReports(DiagnosticIds.MultiStepLossNeedsSteps, where, $$"""
        [Experiment("one-step-plus"), Sinusoid, MamlPlusPlus]{{steps}}
        public partial class OneStepPlus;
        """);

    [Fact]
    public async Task META201_MultiStepLossOffWithOneStepReportsNothing()
    {
        var compilation = GeneratorHarness.Compile(Usings + """
            [Experiment("one-step-plus"), Sinusoid, MamlPlusPlus(MultiStepLoss = false), InnerSteps(1)]
            public partial class OneStepPlus;
            """);
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(compilation));
    }

    [Fact]
    public Task META202_SamplerNeedsContinuousFamily() => AssertReports(DiagnosticIds.SamplerNeedsContinuousFamily, "Sampler(SamplerKind.Weighted)", """
        [Experiment("sampled-glyphs"), Glyphs, Maml, Sampler(SamplerKind.Weighted)]
        public partial class SampledGlyphs;
        """);

    [Theory]
    [InlineData("EpsilonStart = 1.5", "EpsilonStart = 1.5")]
    [InlineData("EpsilonFinal = 0.5, EpsilonStart = 0.2", "EpsilonFinal = 0.5")]
    [InlineData("EpsilonDecayRate = -1", "EpsilonDecayRate = -1")]
    [InlineData("PhaseBlock = 0", "PhaseBlock = 0")]
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
