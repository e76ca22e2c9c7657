using Meta.Generators.Emitting;
using Meta.Generators.Model;
using Meta.Generators.Parsing;
using Microsoft.CodeAnalysis;

namespace Meta.Generators;

/// <summary>
/// Completes every class marked <c>[Experiment]</c> with its options, host descriptor and training loop, and lists all
/// experiments of the compilation in <c>Meta.Generated.ExperimentCatalog</c>. It reports nothing: invalid experiments
/// produce no source, and <see cref="Diagnostics.Analyzers.ExperimentDeclarationAnalyzer"/> explains why.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ExperimentGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // 1. [Experiment] classes → value-equatable specs (null when invalid).
        var experiments = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypeNames.ExperimentAttribute,
                predicate: ExperimentParser.IsCandidate,
                transform: ExperimentParser.Parse)
            .WithTrackingName(TrackingNames.Parse)
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(TrackingNames.ValidExperiments);

        // 2. One source per experiment: {Namespace}.{Type}.g.cs.
        context.RegisterSourceOutput(experiments, ExperimentEmitter.Emit);

        // 3. One catalog per compilation, ordered by name, only where Meta.Runtime is referenced.
        var facts = context.CompilationProvider
            .Select(static (compilation, _) =>
                new CompilationFacts(HasRuntime: compilation.GetTypeByMetadataName(KnownTypeNames.ExperimentDescriptor) is not null))
            .WithTrackingName(TrackingNames.CompilationFacts);
        var catalog = experiments
            .Collect()
            .Select(static (all, _) => CatalogSpec.Create(all))
            .WithTrackingName(TrackingNames.Catalog)
            .Combine(facts)
            .WithTrackingName(TrackingNames.CatalogWithFacts);
        context.RegisterSourceOutput(catalog, ExperimentEmitter.EmitCatalog);
    }
}
