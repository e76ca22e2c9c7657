namespace Meta.Tests.Packaging;

/// <summary>
/// The end-to-end package test runs dotnet pack, new, build, run and test as child processes; it runs alone, after the
/// parallel tests, so it neither slows them nor is slowed by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Packaging";
}
