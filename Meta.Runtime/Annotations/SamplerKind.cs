namespace Meta;

/// <summary>
/// How the tasks of a meta-batch are drawn (task-weighted MAML, seed 000). Every regime except <see cref="Uniform"/>
/// draws cells of a priority queue — a dense grid over the task-parameter box holding each cell's latest query loss — and
/// places the task uniformly inside the drawn cell. See docs/sampling.md for the formulas.
/// </summary>
public enum SamplerKind
{
    /// <summary>Continuous uniform over the parameter box; no grid.</summary>
    Uniform,

    /// <summary>With probability ε a uniformly random cell, otherwise a cell of the highest stored loss (ties at random); ε decays linearly per drawn task.</summary>
    EpsilonGreedy,

    /// <summary>Cell i with probability p_i = q_i / Σ_j q_j, q the stored losses.</summary>
    Weighted,

    /// <summary>As <see cref="Weighted"/>, and each task's query loss is multiplied by w = (1/N_cells) / p_i in the meta-loss.</summary>
    ImportanceWeighted,

    /// <summary>Cell i with probability p_i = Δ_i / Σ_j Δ_j, Δ the change of the stored loss at the cell's last insert.</summary>
    Delta,

    /// <summary>As <see cref="Delta"/>, with importance weights w = (1/N_cells) / p_i.</summary>
    ImportanceDelta,
}
