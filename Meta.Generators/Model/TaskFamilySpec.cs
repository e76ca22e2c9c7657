namespace Meta.Generators.Model;

/// <summary>The task families the generator knows. Each member has its own attribute, options and constructor expressions.</summary>
internal enum TaskFamilyKind
{
    /// <summary><c>[Sinusoid]</c>: y = A·sin(x + φ) regression, the 1-40-40-1 MLP, the sinusoid benchmark.</summary>
    Sinusoid,

    /// <summary><c>[Sinusoid3D]</c>: y = A·sin(φ + ω·x) regression (seed 000), the 1-40-40-1 MLP, the validation grid.</summary>
    Sinusoid3D,
}

/// <summary>The experiment's task family. Its range options live in <see cref="ExperimentSpec.Options"/>.</summary>
/// <param name="Kind">Which family.</param>
internal sealed record TaskFamilySpec(TaskFamilyKind Kind)
{
    /// <summary>How the family reads in prose, e.g. in the trainer's summary.</summary>
    public string DisplayName => Kind switch
    {
        TaskFamilyKind.Sinusoid => "sinusoid regression",
        TaskFamilyKind.Sinusoid3D => "3-D sinusoid regression",
        _ => Kind.ToString(),
    };
}
