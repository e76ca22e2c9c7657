namespace Meta.Tests;

/// <summary>
/// Every test that touches TorchSharp belongs to this collection: libtorch's thread pool, seed and dispose scopes are
/// process-wide, so these tests never run in parallel with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Torch";
}
