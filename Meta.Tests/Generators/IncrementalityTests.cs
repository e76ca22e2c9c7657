using Meta.Generators;
using Meta.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Meta.Tests.Generators;

/// <summary>
/// The pipeline caches: edits that change nothing the generator reads leave every named step and every output cached or
/// unchanged, and a real change re-runs exactly what it must.
/// </summary>
public sealed class IncrementalityTests
{
    private static readonly string[] NamedSteps =
    [
        TrackingNames.Parse, TrackingNames.ValidExperiments, TrackingNames.CompilationFacts, TrackingNames.Catalog, TrackingNames.CatalogWithFacts,
    ];

    [Fact]
    public void SecondRunOnAClonedCompilationIsCached()
    {
        var (driver, compilation) = FirstRun(Samples.SineMaml);
        var result = driver.RunGenerators(compilation.Clone()).GetRunResult().Results.Single();
        AssertNothingRegenerated(result);
    }

    [Fact]
    public void UnrelatedFileLeavesEveryStepCachedOrUnchanged()
    {
        var (driver, compilation) = FirstRun(Samples.SineMaml, Samples.AnotherExperiment);
        var unrelated = CSharpSyntaxTree.ParseText(
            "namespace Lab; internal static class Unrelated { public static int Answer => 42; }", GeneratorHarness.ParseOptions, path: "Unrelated.cs");
        var result = driver.RunGenerators(compilation.AddSyntaxTrees(unrelated)).GetRunResult().Results.Single();
        AssertNothingRegenerated(result);
    }

    [Fact]
    public void CommentAndWhitespaceEditLeavesOutputsUnchanged()
    {
        var (driver, compilation) = FirstRun(Samples.SineMaml);
        var edited = Samples.SineMaml
            .Replace("namespace Meta.Experiments;", "namespace Meta.Experiments;\n\n// The experiment moved down a few lines.\n\n", StringComparison.Ordinal)
            .Replace("[Sinusoid]", "[Sinusoid]   /* the family */", StringComparison.Ordinal)
            .Replace("MetaLr(0.001), ", "MetaLr(0.001),\n    ", StringComparison.Ordinal);
        var result = driver.RunGenerators(Replace(compilation, edited)).GetRunResult().Results.Single();

        AssertNothingRegenerated(result);
        // The declaration moved, so the transform ran again, and found an equal spec: locations are not in the model.
        Assert.Contains(result.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Unchanged);
    }

    [Fact]
    public void RealChangeRegeneratesTheExperimentButNotTheCatalog()
    {
        var (driver, compilation) = FirstRun(Samples.SineMaml);
        var edited = Samples.SineMaml.Replace("InnerSteps(1)", "InnerSteps(5)", StringComparison.Ordinal);
        var run = driver.RunGenerators(Replace(compilation, edited)).GetRunResult();
        var result = run.Results.Single();

        Assert.Equal([IncrementalStepRunReason.Modified], Reasons(result, TrackingNames.Parse));
        Assert.Equal([IncrementalStepRunReason.Modified], Reasons(result, TrackingNames.ValidExperiments));
        Assert.Contains(IncrementalStepRunReason.Modified, result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason));
        // The catalog only lists names and types, which did not change.
        Assert.All(Reasons(result, TrackingNames.Catalog), r => Assert.Equal(IncrementalStepRunReason.Unchanged, r));

        var source = result.GeneratedSources.Single(s => s.HintName == "Meta.Experiments.SineMaml.g.cs").SourceText.ToString();
        Assert.Contains("public int InnerSteps { get; set; } = 5;", source, StringComparison.Ordinal);
    }

    [Fact]
    public void IdenticalSourcesInSeparateCompilationsGiveEqualSpecs()
    {
        var first = Spec(GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(Samples.SineMaml)));
        var second = Spec(GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(Samples.SineMaml)));
        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
    }

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) FirstRun(params string[] sources)
    {
        var compilation = GeneratorHarness.Compile(sources);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        Assert.NotEmpty(driver.GetRunResult().Results.Single().GeneratedSources);
        return (driver, compilation);
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, string firstSource)
    {
        var old = compilation.SyntaxTrees.First();
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(firstSource, GeneratorHarness.ParseOptions, path: old.FilePath));
    }

    private static void AssertNothingRegenerated(GeneratorRunResult result)
    {
        foreach (var name in NamedSteps)
        {
            Assert.True(result.TrackedSteps.ContainsKey(name), $"step {name} was not tracked");
            Assert.All(Reasons(result, name), r => Assert.True(
                r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} ran as {r}"));
        }
        var outputs = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output ran as {o.Reason}"));
    }

    private static IncrementalStepRunReason[] Reasons(GeneratorRunResult result, string step) =>
        [.. result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason)];

    private static ExperimentSpec Spec(GeneratorDriver driver) =>
        (ExperimentSpec)driver.GetRunResult().Results.Single().TrackedSteps[TrackingNames.ValidExperiments].Single().Outputs.Single().Value;
}
