namespace Meta.Generators.Model;

/// <summary>The meta-learning algorithms the generator knows. Each member has its own attribute, options and constructor.</summary>
internal enum AlgorithmKind
{
    /// <summary><c>[Maml]</c>: MAML, second order unless first order (FOMAML).</summary>
    Maml,
    /// <summary><c>[Reptile]</c>: Reptile.</summary>
    Reptile,
    /// <summary><c>[Imaml]</c>: implicit MAML.</summary>
    Imaml,
    /// <summary><c>[MetaSgd]</c>: Meta-SGD.</summary>
    MetaSgd,
    /// <summary><c>[MamlPlusPlus]</c>: MAML++.</summary>
    MamlPlusPlus,
    /// <summary><c>[MetaCurvature]</c>: Meta-Curvature.</summary>
    MetaCurvature,
    /// <summary><c>[Anil]</c>: ANIL.</summary>
    Anil,
}

/// <summary>The experiment's algorithm as its attribute declares it; the options may still override its knobs at run time.</summary>
/// <param name="Kind">Which algorithm.</param>
/// <param name="FirstOrder">The attribute asked for first order (MAML: FOMAML).</param>
internal sealed record AlgorithmSpec(AlgorithmKind Kind, bool FirstOrder)
{
    /// <summary>The algorithm's id in the experiment descriptor and metric tags, e.g. <c>maml</c>, <c>fomaml</c>, <c>reptile</c>.</summary>
    public string Id => Kind switch
    {
        AlgorithmKind.Maml => FirstOrder ? "fomaml" : "maml",
        AlgorithmKind.MamlPlusPlus => "maml++",
        AlgorithmKind.MetaSgd => "meta-sgd",
        AlgorithmKind.MetaCurvature => "meta-curvature",
        _ => Kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Whether the meta-parameters hold learned inner learning rates (they get <c>--learned-rate-scale</c>).</summary>
    public bool LearnsRates => Kind is AlgorithmKind.MetaSgd or AlgorithmKind.MamlPlusPlus or AlgorithmKind.MetaCurvature;

    /// <summary>How the algorithm reads in prose.</summary>
    public string DisplayName => Kind switch
    {
        AlgorithmKind.Maml => FirstOrder ? "first-order MAML" : "MAML",
        AlgorithmKind.Imaml => "iMAML",
        AlgorithmKind.MetaSgd => "Meta-SGD",
        AlgorithmKind.MamlPlusPlus => "MAML++",
        AlgorithmKind.MetaCurvature => "Meta-Curvature",
        AlgorithmKind.Anil => "ANIL",
        _ => Kind.ToString(),
    };
}
