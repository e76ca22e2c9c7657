using System.Collections.Immutable;
using System.Reflection;
using Meta.Generators;
using Meta.Generators.Diagnostics.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Meta.Tests.Generators;

/// <summary>
/// Compiles test sources against the real Meta.Runtime (metadata only: nothing of TorchSharp runs) and drives the
/// generator and the analyzer in memory.
/// </summary>
internal static class GeneratorHarness
{
    /// <summary>The language version of the experiments project.</summary>
    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Latest);

    /// <summary>
    /// The framework (from TRUSTED_PLATFORM_ASSEMBLIES) plus Meta.Runtime and the libraries generated code names:
    /// TorchSharp and Microsoft.Extensions.*. Meta.Experiments and the test assemblies are left out: they would bring a
    /// second copy of the types under test (CS0436).
    /// </summary>
    public static ImmutableArray<MetadataReference> References { get; } = LoadReferences();

    /// <summary>A library compilation of <paramref name="sources"/> (file names Experiment0.cs, Experiment1.cs, …).</summary>
    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create(
            "Meta.Experiments.Under.Test",
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Experiment{i}.cs")),
            References,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                warningLevel: 9999));

    /// <summary>A driver that records every tracked step, for incrementality tests.</summary>
    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new ExperimentGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator over <paramref name="compilation"/>.</summary>
    public static GeneratorOutput Generate(CSharpCompilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return new GeneratorOutput(
            result.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString()),
            diagnostics,
            output);
    }

    /// <summary>The analyzer's diagnostics for <paramref name="compilation"/>, ordered by position.</summary>
    public static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Compilation compilation)
    {
        var diagnostics = await compilation
            .WithAnalyzers([new ExperimentDeclarationAnalyzer()])
            .GetAnalyzerDiagnosticsAsync();
        return [.. diagnostics.OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// <see cref="AnalyzeAsync"/> for synchronous callers (ApprovalTests names snapshots from the calling test's stack
    /// frame, so snapshot tests stay synchronous); runs on the thread pool so it cannot block on the test's context.
    /// </summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation) =>
        Task.Run(() => AnalyzeAsync(compilation)).GetAwaiter().GetResult();

    /// <summary>Errors and warnings of a compilation (generated code must have none).</summary>
    public static ImmutableArray<Diagnostic> ErrorsAndWarnings(Compilation compilation) =>
        [.. compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning)];

    /// <summary>One diagnostic per line: <c>Experiment0.cs(7,2): error META001: message</c>.</summary>
    public static string Format(IEnumerable<Diagnostic> diagnostics) =>
        string.Concat(diagnostics.Select(d =>
        {
            var span = d.Location.GetLineSpan();
            var where = d.Location.IsInSource
                ? $"{Path.GetFileName(span.Path)}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})"
                : "(no location)";
            return $"{where}: {d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}\n";
        }));

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var excluded = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Meta.Experiments", "Meta.Tests", "Meta.Generators" };
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !excluded.Contains(Path.GetFileNameWithoutExtension(p)))
            .ToList();

        // Named explicitly too, in case a host trims TRUSTED_PLATFORM_ASSEMBLIES to the framework.
        Assembly[] required =
        [
            typeof(ExperimentAttribute).Assembly,                                                           // Meta.Runtime
            typeof(Microsoft.Extensions.Configuration.IConfiguration).Assembly,                              // .Configuration.Abstractions
            typeof(Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions).Assembly,   // .DependencyInjection.Abstractions
        ];
        paths.AddRange(required.Select(a => a.Location));
        // TorchSharp by path, not by typeof: generator tests never load it.
        paths.Add(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll"));

        return [.. paths
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => (MetadataReference)MetadataReference.CreateFromFile(g.First()))];
    }
}

/// <summary>What one generator run produced.</summary>
/// <param name="Sources">Generated text by hint name.</param>
/// <param name="Diagnostics">Diagnostics the generator itself reported (it should report none).</param>
/// <param name="Compilation">The input compilation plus the generated sources.</param>
internal sealed record GeneratorOutput(
    IReadOnlyDictionary<string, string> Sources,
    ImmutableArray<Diagnostic> Diagnostics,
    Compilation Compilation);
