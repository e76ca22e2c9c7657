using Meta;
using Meta.Algorithms;

namespace Meta.Experiments.Seeds;

// Seed 001 (spiglerg/pyMeta): its README's sinusoid commands — 10 support and 100 query points, 5 inner iterations on
// the whole support set (inner batch 10), inner rate 0.01, meta-batch 5, meta rate 0.001, 10,000 iterations. Where it
// deviates from the papers we follow the papers (docs/algorithms.md): Reptile's inner Adam (β1 = 0) is reset for every
// task, iMAML solves (I + H/λ)x = ∇L by CG with a proximal inner loss. Its sinusoid runs use Adam(β1 = 0) inside FOMAML
// too; Meta's MAML family adapts by SGD (the MAML paper's rule). Its network is 1-64-64-1; ours is the MAML paper's
// 1-40-40-1.

/// <summary>Seed 001: first-order MAML on sinusoids.</summary>
[Experiment("seed001-sine-fomaml", Description = "Seed 001: first-order MAML on sinusoids."), Sinusoid, Maml(FirstOrder = true)]
[Shots(10, Query = 100), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(5), Iterations(10_000)]
public partial class Seed001SineFomaml;

/// <summary>Seed 001: Reptile on sinusoids (inner Adam with β1 = 0, outer plain SGD at the meta rate, as in the seed).</summary>
[Experiment("seed001-sine-reptile", Description = "Seed 001: Reptile on sinusoids (inner Adam with β1 = 0, outer plain SGD at the meta rate, as in the seed)."), Sinusoid, Reptile(InnerOptimizer = InnerOptimizer.Adam, AdamBeta1 = 0, InnerBatch = 10)]
[Shots(10, Query = 100), InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Optimizer = MetaOptimizerKind.Sgd), MetaBatch(5), Iterations(10_000)]
public partial class Seed001SineReptile;

/// <summary>Seed 001: iMAML on sinusoids (the seed has no sinusoid command for it: its protocol with λ = 5, 5 CG steps, the paper's plain CG and SGD).</summary>
[Experiment("seed001-sine-imaml", Description = "Seed 001: iMAML on sinusoids (the seed has no sinusoid command for it: its protocol with λ = 5, 5 CG steps)."), Sinusoid, Imaml(Lambda = 5, CgSteps = 5, TruncateCg = false, InnerBacktracking = false, Solver = ProximalSolver.GradientDescent)]
[Shots(10, Query = 100), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(5), Iterations(10_000)]
public partial class Seed001SineImaml;

/// <summary>Seed 001: first-order MAML on Omniglot 5-way 5-shot (its README's command).</summary>
[Experiment("seed001-omniglot-fomaml", Description = "Seed 001: first-order MAML on Omniglot 5-way 5-shot (its README's command)."), Omniglot(Ways = 5, Split = Meta.Tasks.Images.OmniglotSplit.Alphabets), Maml(FirstOrder = true)]
[Shots(5, Query = 15), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(5), Iterations(30_000)]
public partial class Seed001OmniglotFomaml;

/// <summary>Seed 001: Reptile on Omniglot 5-way 10-shot (its README's command: outer SGD at 0.1, inner rate 0.001).</summary>
[Experiment("seed001-omniglot-reptile", Description = "Seed 001: Reptile on Omniglot 5-way 10-shot (its README's command: outer SGD at 0.1, inner rate 0.001)."), Omniglot(Ways = 5, Split = Meta.Tasks.Images.OmniglotSplit.Alphabets), Reptile(InnerOptimizer = InnerOptimizer.Adam)]
[Shots(10, Query = 10), InnerSteps(5), InnerLr(0.001), MetaLr(0.1, Optimizer = MetaOptimizerKind.Sgd), MetaBatch(5), Iterations(30_000)]
public partial class Seed001OmniglotReptile;

/// <summary>Seed 001: iMAML on Mini-ImageNet 5-way 5-shot (its README's command).</summary>
[Experiment("seed001-miniimagenet-imaml", Description = "Seed 001: iMAML on Mini-ImageNet 5-way 5-shot (its README's command)."), MiniImageNet(Ways = 5), Imaml(TruncateCg = false, InnerBacktracking = false, Solver = ProximalSolver.GradientDescent)]
[Shots(5, Query = 15), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(5), Iterations(30_000)]
public partial class Seed001MiniImageNetImaml;
