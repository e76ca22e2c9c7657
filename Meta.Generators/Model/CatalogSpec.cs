using System.Collections.Immutable;
using System.Linq;

namespace Meta.Generators.Model;

/// <summary>The experiments of one compilation, ordered ordinally by name, for <c>Meta.Generated.ExperimentCatalog</c>.</summary>
/// <param name="Experiments">The entries, ordered.</param>
internal sealed record CatalogSpec(EquatableArray<CatalogEntrySpec> Experiments)
{
    /// <summary>Orders <paramref name="experiments"/> by name (ordinal), then by type name so duplicates stay stable.</summary>
    public static CatalogSpec Create(ImmutableArray<ExperimentSpec> experiments) =>
        new(experiments
            .Select(e => new CatalogEntrySpec(e.Name, e.Type.FullyQualifiedName))
            .OrderBy(e => e.Name, System.StringComparer.Ordinal)
            .ThenBy(e => e.TypeName, System.StringComparer.Ordinal)
            .ToEquatableArray());
}

/// <summary>One experiment of the catalog.</summary>
/// <param name="Name">The command-line name.</param>
/// <param name="TypeName">The experiment type's fully qualified name (with <c>global::</c>).</param>
internal sealed record CatalogEntrySpec(string Name, string TypeName);

/// <summary>Facts about the compilation that decide what may be emitted. No symbols.</summary>
/// <param name="HasRuntime">Meta.Runtime is referenced (the catalog's types exist).</param>
internal sealed record CompilationFacts(bool HasRuntime);
