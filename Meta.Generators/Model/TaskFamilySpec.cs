namespace Meta.Generators.Model;

/// <summary>The task families the generator knows. Each member has its own attribute, options and constructor expressions.</summary>
internal enum TaskFamilyKind
{
    /// <summary><c>[Sinusoid]</c>: y = A·sin(x + φ) regression, the 1-40-40-1 MLP, the sinusoid benchmark.</summary>
    Sinusoid,

    /// <summary><c>[Sinusoid3D]</c>: y = A·sin(φ + ω·x) regression (seed 000), the 1-40-40-1 MLP, the validation grid.</summary>
    Sinusoid3D,

    /// <summary><c>[Omniglot]</c>: N-way K-shot Omniglot, conv-4.</summary>
    Omniglot,

    /// <summary><c>[MiniImageNet]</c>: N-way K-shot Mini-ImageNet, conv-4 with 32 filters.</summary>
    MiniImageNet,

    /// <summary><c>[Glyphs]</c>: N-way K-shot rendered glyphs, conv-4.</summary>
    Glyphs,

    /// <summary><c>[FashionMnist]</c>: N-way K-shot Fashion-MNIST, conv-4.</summary>
    FashionMnist,
}

/// <summary>The experiment's task family. Its options live in <see cref="ExperimentSpec.Options"/>.</summary>
/// <param name="Kind">Which family.</param>
internal sealed record TaskFamilySpec(TaskFamilyKind Kind)
{
    /// <summary>Whether the family is few-shot image classification (conv-4, cross-entropy, accuracy).</summary>
    public bool IsImage => Kind is TaskFamilyKind.Omniglot or TaskFamilyKind.MiniImageNet or TaskFamilyKind.Glyphs or TaskFamilyKind.FashionMnist;

    /// <summary>How the family reads in prose, e.g. in the trainer's summary.</summary>
    public string DisplayName => Kind switch
    {
        TaskFamilyKind.Sinusoid => "sinusoid regression",
        TaskFamilyKind.Sinusoid3D => "3-D sinusoid regression",
        TaskFamilyKind.Omniglot => "Omniglot few-shot classification",
        TaskFamilyKind.MiniImageNet => "Mini-ImageNet few-shot classification",
        TaskFamilyKind.Glyphs => "rendered-glyph few-shot classification",
        TaskFamilyKind.FashionMnist => "Fashion-MNIST few-shot classification",
        _ => Kind.ToString(),
    };
}
