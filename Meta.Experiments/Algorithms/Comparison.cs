using Meta;

namespace Meta.Experiments.Algorithms;

// One sinusoid protocol for every algorithm, so `compare` can set them side by side: K = 10 support and query points,
// five inner steps at α = 0.01 during meta-training, meta-batch 25, Adam at 1e-3 (constant, also for Reptile and MAML++,
// so only the algorithm differs), 10,000 meta-iterations, Finn's initialisation, the same seed and test tasks.
// README's algorithm table is `compare cmp-maml cmp-fomaml cmp-reptile cmp-imaml cmp-meta-sgd cmp-maml-plus-plus
// cmp-meta-curvature cmp-anil --seeds 3`.

/// <summary>Second-order MAML on the comparison protocol.</summary>
[Experiment("cmp-maml", Description = "Second-order MAML on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Maml]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMaml;

/// <summary>First-order MAML on the comparison protocol.</summary>
[Experiment("cmp-fomaml", Description = "First-order MAML on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Maml(FirstOrder = true)]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareFomaml;

/// <summary>Reptile (SGD inner loop, Adam on the pseudo-gradient) on the comparison protocol.</summary>
[Experiment("cmp-reptile", Description = "Reptile (SGD inner loop, Adam on the pseudo-gradient) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Reptile]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Optimizer = MetaOptimizerKind.Adam), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareReptile;

/// <summary>iMAML (λ = 5, 5 CG steps) on the comparison protocol.</summary>
[Experiment("cmp-imaml", Description = "iMAML (λ = 5, 5 CG steps) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Imaml]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareImaml;

/// <summary>Meta-SGD on the comparison protocol.</summary>
[Experiment("cmp-meta-sgd", Description = "Meta-SGD on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MetaSgd]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMetaSgd;

/// <summary>MAML++ (multi-step loss, LSLR; constant meta learning rate like the others) on the comparison protocol.</summary>
[Experiment("cmp-maml-plus-plus", Description = "MAML++ (multi-step loss, LSLR; constant meta learning rate like the others) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MamlPlusPlus]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001, Schedule = LrSchedule.Constant), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMamlPlusPlus;

/// <summary>Meta-Curvature on the comparison protocol.</summary>
[Experiment("cmp-meta-curvature", Description = "Meta-Curvature on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, MetaCurvature]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareMetaCurvature;

/// <summary>ANIL (head-only inner loop) on the comparison protocol.</summary>
[Experiment("cmp-anil", Description = "ANIL (head-only inner loop) on the comparison protocol (sinusoids, K = 10, five steps at α = 0.01)."), Sinusoid, Anil]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10), Iterations(10_000)]
public partial class CompareAnil;
