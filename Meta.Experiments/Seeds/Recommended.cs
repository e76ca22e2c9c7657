using Meta;
using Meta.Algorithms;
using Meta.Functional;

namespace Meta.Experiments.Seeds;

// "Recommended" siblings of the seeds' sinusoid experiments that do not train as the seeds configured them: each keeps
// its seed's protocol (tasks, K, inner loop, meta-batch, iterations) and changes only what stopped it, measured with
// `compare` (README, "The seeds' own configurations"; docs/algorithms.md, "Recommended settings"). The seeds' own
// experiments stay as the seeds wrote them.

/// <summary>Seed 001's Reptile with the Reptile paper's outer rule: SGD at ε = 1 annealed linearly to 0 (the seed's 1e-3 barely moves θ).</summary>
[Experiment("seed001-sine-reptile-recommended", Description = "Seed 001's Reptile on sinusoids with the Reptile paper's outer rule: SGD at 1, annealed linearly to 0."), Sinusoid, Reptile(InnerOptimizer = InnerOptimizer.Adam, AdamBeta1 = 0, InnerBatch = 10)]
[Shots(10, Query = 100), InnerSteps(5), InnerLr(0.01), MetaLr(1, Optimizer = MetaOptimizerKind.Sgd, Schedule = LrSchedule.LinearDecay), MetaBatch(5), Iterations(10_000)]
public partial class Seed001SineReptileRecommended;

/// <summary>
/// Seed 001's iMAML protocol at iMAML's recommended settings: the proximal problem solved by Newton-CG, truncated CG, and
/// PyTorch's initialisation (with Finn's σ = 0.01, one of five seeds fell to a constant predictor).
/// </summary>
[Experiment("seed001-sine-imaml-recommended", Description = "Seed 001's iMAML protocol on sinusoids (λ = 5, 5 CG steps) with the proximal problem solved by five Newton-CG steps, truncated CG and PyTorch's initialisation."), Sinusoid, Imaml(Lambda = 5, CgSteps = 5)]
[Init(WeightInit.PyTorch), Shots(10, Query = 100), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(5), Iterations(10_000)]
public partial class Seed001SineImamlRecommended;

/// <summary>Seed 003's MAML with Adam at 1e-3 (the notebook's 0.1 never leaves the from-scratch level).</summary>
[Experiment("seed003-maml-recommended", Description = "Seed 003's MAML on sinusoids with Adam at 1e-3 instead of the notebook's 0.1."), Sinusoid, Maml]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(4), Iterations(6_750)]
public partial class Seed003MamlRecommended;

/// <summary>Seed 003's MAML++ (multi-step loss only) with Adam at 1e-3 and PyTorch's initialisation (off the plateau of Finn's σ = 0.01).</summary>
[Experiment("seed003-maml-plus-plus-recommended", Description = "Seed 003's MAML++ on sinusoids (multi-step loss only) with Adam at 1e-3 and PyTorch's initialisation."), Sinusoid, MamlPlusPlus(LearnedLearningRates = false, MultiStepLossEpochs = 3, IterationsPerEpoch = 2_250), Init(WeightInit.PyTorch)]
[Shots(10), InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Schedule = LrSchedule.Constant), MetaBatch(4), Iterations(6_750)]
public partial class Seed003MamlPlusPlusRecommended;
