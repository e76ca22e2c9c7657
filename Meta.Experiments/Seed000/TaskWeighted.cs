using Meta;

namespace Meta.Experiments.Seed000;

// Seed 000 (task-weighted MAML): the six configurations of its experiments/configs, on 2-D and 3-D sinusoids. Shared
// settings from its base_config.yaml: 1 inner step at α = 0.01, meta-batch 25, K = 10 support and 10 query points,
// Adam at 0.01, and the queue grid of amplitude blocks 0.1 × phase blocks 5° (× frequency blocks 0.2 in 3-D). The seed
// trains 10,000,000 iterations; 20,000 here, settable with --iterations. The 'vanilla' configuration is ε-greedy with
// the decay starting at iteration 10,000,000, i.e. ε = 1 for the whole run: uniform over queue cells with jitter.
// Quirks of the seed and what Meta does about them: docs/sampling.md.

/// <summary>Seed 000 'vanilla' on 2-D sinusoids: ε-greedy with ε = 1 throughout (uniform over cells).</summary>
[Experiment("tw2d-vanilla", Description = "Task-weighted MAML (seed 000) 'vanilla': ε-greedy with ε = 1 throughout, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.EpsilonGreedy, EpsilonDecayStart = 10_000_000)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DVanilla;

/// <summary>Seed 000 'pq' on 2-D sinusoids: ε-greedy, ε decaying from iteration 10,000.</summary>
[Experiment("tw2d-pq", Description = "Task-weighted MAML (seed 000) 'pq': ε-greedy over the loss queue, ε decaying after 10,000 steps, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.EpsilonGreedy, EpsilonDecayStart = 10_000)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DPq;

/// <summary>Seed 000 'pq_sample' on 2-D sinusoids: cells drawn in proportion to their losses.</summary>
[Experiment("tw2d-pq-sample", Description = "Task-weighted MAML (seed 000) 'pq_sample': cells drawn in proportion to their latest loss, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.Weighted)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DPqSample;

/// <summary>Seed 000 'pq_importance' on 2-D sinusoids: loss-proportional draws, importance-weighted meta-loss.</summary>
[Experiment("tw2d-pq-importance", Description = "Task-weighted MAML (seed 000) 'pq_importance': loss-proportional draws with importance weights, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.ImportanceWeighted)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DPqImportance;

/// <summary>Seed 000 'pq_delta' on 2-D sinusoids: cells drawn in proportion to their latest change of loss.</summary>
[Experiment("tw2d-pq-delta", Description = "Task-weighted MAML (seed 000) 'pq_delta': cells drawn in proportion to their latest change of loss, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.Delta)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DPqDelta;

/// <summary>Seed 000 'pq_importance_delta' on 2-D sinusoids: change-proportional draws, importance-weighted meta-loss.</summary>
[Experiment("tw2d-pq-importance-delta", Description = "Task-weighted MAML (seed 000) 'pq_importance_delta': change-proportional draws with importance weights, 2-D sinusoids.")]
[Sinusoid, Maml, Sampler(SamplerKind.ImportanceDelta)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted2DPqImportanceDelta;

/// <summary>Seed 000 'vanilla' on 3-D sinusoids.</summary>
[Experiment("tw3d-vanilla", Description = "Task-weighted MAML (seed 000) 'vanilla': ε-greedy with ε = 1 throughout, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.EpsilonGreedy, EpsilonDecayStart = 10_000_000)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DVanilla;

/// <summary>Seed 000 'pq' on 3-D sinusoids.</summary>
[Experiment("tw3d-pq", Description = "Task-weighted MAML (seed 000) 'pq': ε-greedy over the loss queue, ε decaying after 10,000 steps, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.EpsilonGreedy, EpsilonDecayStart = 10_000)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DPq;

/// <summary>Seed 000 'pq_sample' on 3-D sinusoids.</summary>
[Experiment("tw3d-pq-sample", Description = "Task-weighted MAML (seed 000) 'pq_sample': cells drawn in proportion to their latest loss, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.Weighted)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DPqSample;

/// <summary>Seed 000 'pq_importance' on 3-D sinusoids.</summary>
[Experiment("tw3d-pq-importance", Description = "Task-weighted MAML (seed 000) 'pq_importance': loss-proportional draws with importance weights, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.ImportanceWeighted)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DPqImportance;

/// <summary>Seed 000 'pq_delta' on 3-D sinusoids.</summary>
[Experiment("tw3d-pq-delta", Description = "Task-weighted MAML (seed 000) 'pq_delta': cells drawn in proportion to their latest change of loss, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.Delta)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DPqDelta;

/// <summary>Seed 000 'pq_importance_delta' on 3-D sinusoids.</summary>
[Experiment("tw3d-pq-importance-delta", Description = "Task-weighted MAML (seed 000) 'pq_importance_delta': change-proportional draws with importance weights, 3-D sinusoids.")]
[Sinusoid3D, Maml, Sampler(SamplerKind.ImportanceDelta)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.01), MetaBatch(25), Shots(10), Iterations(20_000)]
public partial class TaskWeighted3DPqImportanceDelta;
