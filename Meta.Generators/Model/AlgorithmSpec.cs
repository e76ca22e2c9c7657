namespace Meta.Generators.Model;

/// <summary>The meta-learning algorithms the generator knows. Each member has its own attribute, options and constructor.</summary>
internal enum AlgorithmKind
{
    /// <summary><c>[Maml]</c>: MAML, second order unless first order (FOMAML).</summary>
    Maml,
}

/// <summary>The experiment's algorithm as its attribute declares it; the options may still override its knobs at run time.</summary>
/// <param name="Kind">Which algorithm.</param>
/// <param name="FirstOrder">For MAML: the attribute asked for first order (FOMAML).</param>
internal sealed record AlgorithmSpec(AlgorithmKind Kind, bool FirstOrder)
{
    /// <summary>The algorithm's id in the experiment descriptor and metric tags: <c>maml</c> or <c>fomaml</c>.</summary>
    public string Id => Kind switch
    {
        AlgorithmKind.Maml => FirstOrder ? "fomaml" : "maml",
        _ => Kind.ToString().ToLowerInvariant(),
    };

    /// <summary>How the algorithm reads in prose.</summary>
    public string DisplayName => Kind switch
    {
        AlgorithmKind.Maml => FirstOrder ? "first-order MAML" : "MAML",
        _ => Kind.ToString(),
    };
}
