using Meta;
using Meta.Functional;

namespace Meta.Experiments.Algorithms;

// One sinusoid protocol for every algorithm, so `compare` can set them side by side: K = 10 support and query points,
// five inner steps at α = 0.01 during meta-training, meta-batch 25, Adam at 1e-3 (constant, also for Reptile and MAML++,
// so only the algorithm differs), 10,000 meta-iterations, PyTorch's default initialisation, the same seed and test
// tasks; each algorithm at its recommended settings (its attribute's defaults, docs/algorithms.md). With five inner
// steps Finn's σ = 0.01 initialisation leaves second-order MAML and MAML++ on a plateau on some seeds
// (docs/algorithms.md, "Recommended settings"). README's algorithm table and issue 16's stability check:
// `compare 'cmp-*' --seeds 5 --jobs 2`.

/// <summary>Second-order MAML on the comparison protocol.</summary>
[Experiment("cmp-maml", Description = "Second-order MAML on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Maml]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMaml;

/// <summary>First-order MAML on the comparison protocol.</summary>
[Experiment("cmp-fomaml", Description = "First-order MAML on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Maml(FirstOrder = true)]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareFomaml;

/// <summary>Reptile (SGD inner loop, Adam on the pseudo-gradient) on the comparison protocol.</summary>
[Experiment("cmp-reptile", Description = "Reptile (SGD inner loop, Adam on the pseudo-gradient) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Reptile]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Optimizer = MetaOptimizerKind.Adam), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareReptile;

/// <summary>iMAML (λ = 5, Newton-CG inner loop) on the comparison protocol.</summary>
[Experiment("cmp-imaml", Description = "iMAML (λ = 5, five Newton-CG steps on the proximal problem, 5 CG steps for the meta-gradient) on the comparison protocol (sinusoids, K = 10)."), Sinusoid, Imaml]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareImaml;

/// <summary>Meta-SGD on the comparison protocol.</summary>
[Experiment("cmp-meta-sgd", Description = "Meta-SGD on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MetaSgd]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMetaSgd;

/// <summary>MAML++ (multi-step loss, LSLR; constant meta learning rate like the others) on the comparison protocol.</summary>
[Experiment("cmp-maml-plus-plus", Description = "MAML++ (multi-step loss, LSLR; constant meta learning rate like the others) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MamlPlusPlus]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Schedule = LrSchedule.Constant), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMamlPlusPlus;

/// <summary>Meta-Curvature on the comparison protocol.</summary>
[Experiment("cmp-meta-curvature", Description = "Meta-Curvature on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MetaCurvature]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMetaCurvature;

/// <summary>ANIL (head-only inner loop) on the comparison protocol.</summary>
[Experiment("cmp-anil", Description = "ANIL (head-only inner loop) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Anil]
[Init(WeightInit.PyTorch), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareAnil;
