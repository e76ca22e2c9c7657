using Meta;

namespace Meta.Experiments.Algorithms;

// The MAML paper's sinusoid protocol (Finn et al. 2017, §5.1): K = 10, one inner step at α = 0.01, meta-batch 25, Adam at
// 1e-3, 70,000 meta-iterations; sine-maml is its MAML run (with 20,000 iterations by default: pass --iterations 70000).
// Meta-SGD and MAML++ on the same protocol, for the claim that both beat MAML there. With one inner step MAML++'s
// multi-step loss is MAML's loss (META201), so its run has LSLR and cosine annealing. Both keep the papers' unconstrained
// learned rates (RateParameterization.Direct), as the runs in README's table had them.

/// <summary>Meta-SGD on the MAML paper's sinusoid protocol.</summary>
[Experiment("paper-meta-sgd", Description = "Meta-SGD on the MAML paper's sinusoid protocol."), Sinusoid, MetaSgd(RateParameterization = RateParameterization.Direct)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(70_000)]
public partial class PaperMetaSgd;

/// <summary>MAML++ (LSLR, cosine-annealed meta rate; one step, so no multi-step loss) on the MAML paper's sinusoid protocol.</summary>
[Experiment("paper-maml-plus-plus", Description = "MAML++ (LSLR, cosine-annealed meta rate; one step, so no multi-step loss) on the MAML paper's sinusoid protocol."), Sinusoid, MamlPlusPlus(MultiStepLoss = false, RateParameterization = RateParameterization.Direct)]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(70_000)]
public partial class PaperMamlPlusPlus;
