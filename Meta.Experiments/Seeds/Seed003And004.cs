using Meta;

namespace Meta.Experiments.Seeds;

// Seed 003 (obround/meta-learning): torchmeta sinusoids with 10 support and 10 query points, 4 tasks per batch, 5 inner
// steps, 3 epochs over 9,000 training tasks (6,750 meta-steps), with the notebook's rates. Its quirks are not copied
// (docs/algorithms.md): MAML++'s loss is averaged over tasks, Meta-SGD's MSE is not divided twice, Reptile's loss is not
// halved. Its MAML++ has only the multi-step loss, so LSLR is off and the meta rate constant here.

/// <summary>Seed 003: MAML (inner 0.01, meta 0.1 as in the notebook).</summary>
[Experiment("seed003-maml", Description = "Seed 003: MAML on sinusoids, five steps at 0.01, Adam at 0.1 as in the notebook."), Sinusoid, Maml]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.1), MetaBatch(4), Iterations(6_750)]
public partial class Seed003Maml;

/// <summary>Seed 003: MAML++ with the multi-step loss only (epoch = 2,250 steps, annealed over the 3 epochs).</summary>
[Experiment("seed003-maml-plus-plus", Description = "Seed 003: MAML++ on sinusoids with the multi-step loss only (epoch = 2,250 steps, annealed over the 3 epochs)."), Sinusoid, MamlPlusPlus(LearnedLearningRates = false, MultiStepLossEpochs = 3, IterationsPerEpoch = 2_250)]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.1, Schedule = LrSchedule.Constant), MetaBatch(4), Iterations(6_750)]
public partial class Seed003MamlPlusPlus;

/// <summary>Seed 003: Meta-SGD, one inner step, rates initialised at 0.001, meta rate 0.001 (unconstrained rates, as the seed).</summary>
[Experiment("seed003-meta-sgd", Description = "Seed 003: Meta-SGD on sinusoids, one inner step, rates initialised at 0.001, meta rate 0.001."), Sinusoid, MetaSgd(RateParameterization = RateParameterization.Direct)]
[Shots(10), InnerSteps(1), InnerLr(0.001), MetaLr(0.001), MetaBatch(4), Iterations(6_750)]
public partial class Seed003MetaSgd;

/// <summary>Seed 003's Meta-SGD with Meta's recommended safeguard: rates kept in (0, 10 × the inner rate) by a sigmoid.</summary>
[Experiment("seed003-meta-sgd-recommended", Description = "Seed 003's Meta-SGD with the learned rates bounded by a sigmoid (Meta's recommended setting)."), Sinusoid, MetaSgd]
[Shots(10), InnerSteps(1), InnerLr(0.001), MetaLr(0.001), MetaBatch(4), Iterations(6_750)]
public partial class Seed003MetaSgdRecommended;

/// <summary>Seed 003: Reptile, inner SGD at 0.1 with gradient-norm clipping at 4, outer SGD at 0.1.</summary>
[Experiment("seed003-reptile", Description = "Seed 003: Reptile on sinusoids, inner SGD at 0.1 with gradient-norm clipping at 4, outer SGD at 0.1."), Sinusoid, Reptile(ClipNorm = 4)]
[Shots(10), InnerSteps(5), InnerLr(0.1), MetaLr(0.1, Optimizer = MetaOptimizerKind.Sgd), MetaBatch(4), Iterations(6_750)]
public partial class Seed003Reptile;

// Seed 004 (hfahrudin/reptile_implement_tf2, "MAML Enhanced"): Meta-Curvature with layer-specific learning rates on
// sinusoids, K = 10, meta-batch 16, 5 inner steps at 0.01, Adam 1e-3, 10 epochs of 625 meta-steps. The seed never
// updates θ and its gradient path is broken (SEEDS.md §C.2); here θ, the curvature matrices and the rates are learned
// jointly through the second-order query loss (Park & Oliva 2019; Antoniou et al.'s per-layer-per-step rates).

/// <summary>Seed 004: "MAML Enhanced" — Meta-Curvature with LSLR (unconstrained rates, as the seed).</summary>
[Experiment("seed004-maml-enhanced", Description = "Seed 004: 'MAML Enhanced' on sinusoids, Meta-Curvature with learned per-layer-per-step rates."), Sinusoid, MetaCurvature(LearnedLearningRates = true, RateParameterization = RateParameterization.Direct)]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(16), Iterations(6_250)]
public partial class Seed004MamlEnhanced;

/// <summary>Seed 004's "MAML Enhanced" with Meta's recommended safeguard: the rates kept in (0, 10 × the inner rate) by a sigmoid.</summary>
[Experiment("seed004-maml-enhanced-recommended", Description = "Seed 004's 'MAML Enhanced' with the learned rates bounded by a sigmoid (Meta's recommended setting)."), Sinusoid, MetaCurvature(LearnedLearningRates = true)]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(16), Iterations(6_250)]
public partial class Seed004MamlEnhancedRecommended;
