using Meta.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Meta.Generators.Emitting;

// Meta.Generated.ExperimentCatalog: every experiment of the compilation, ordered by name, for Program.cs to hand to
// the host. One file per compilation.
internal static partial class ExperimentEmitter
{
    /// <summary>The catalog's hint name.</summary>
    public const string CatalogHintName = "Meta.ExperimentCatalog.g.cs";

    /// <summary>Adds <c>Meta.ExperimentCatalog.g.cs</c> when Meta.Runtime is referenced.</summary>
    public static void EmitCatalog(SourceProductionContext context, (CatalogSpec Catalog, CompilationFacts Facts) input)
    {
        if (!input.Facts.HasRuntime) return;
        context.AddSource(CatalogHintName, WriteCatalog(input.Catalog).ToSourceText());
    }

    /// <summary>The catalog's source.</summary>
    internal static SourceWriter WriteCatalog(CatalogSpec catalog)
    {
        var writer = new SourceWriter();
        WriteHeader(writer, "Meta.Generated");
        writer.WriteLine("/// <summary>Every experiment declared in this assembly, ordered by name.</summary>");
        writer.WriteLine(GeneratedCodeAttribute);
        using (writer.WriteBlock("internal static class ExperimentCatalog"))
        {
            writer.WriteLine("/// <summary>The experiments' descriptors.</summary>");
            const string Property = $"public static {ReadOnlyList}<{Hosting}ExperimentDescriptor> All {{ get; }} =";
            if (catalog.Experiments.Count == 0)
            {
                writer.WriteLine(Property + " [];");
                return writer;
            }
            writer.WriteLine(Property);
            using (writer.WriteBlock(open: "[", close: "];"))
            {
                foreach (var entry in catalog.Experiments) writer.WriteLine($"{entry.TypeName}.Descriptor,");
            }
        }
        return writer;
    }
}
