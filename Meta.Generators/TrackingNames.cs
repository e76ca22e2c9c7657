namespace Meta.Generators;

/// <summary>Names of the generator's pipeline steps, so tests can assert how each step ran (cached, unchanged, modified).</summary>
public static class TrackingNames
{
    /// <summary>The attribute's classes parsed into specs (null for an invalid experiment).</summary>
    public const string Parse = nameof(Parse);

    /// <summary>The valid specs only.</summary>
    public const string ValidExperiments = nameof(ValidExperiments);

    /// <summary>The compilation facts (is Meta.Runtime referenced).</summary>
    public const string CompilationFacts = nameof(CompilationFacts);

    /// <summary>All valid specs of the compilation, ordered for the catalog.</summary>
    public const string Catalog = nameof(Catalog);

    /// <summary>The catalog combined with the compilation facts.</summary>
    public const string CatalogWithFacts = nameof(CatalogWithFacts);
}
