using Meta;

namespace Meta.Experiments.Images;

// Few-shot image classification with the MAML paper's settings (Finn et al. 2017, §5.2). Omniglot and Mini-ImageNet are
// not shipped: point --data at them (README). glyphs-5w1s and fashion-5w1s run offline: glyphs are rendered from
// Debian's DejaVu fonts, Fashion-MNIST comes from Debian's dataset-fashion-mnist package.

/// <summary>Omniglot 5-way 1-shot: one inner step at α = 0.4, meta-batch 32, three steps at test.</summary>
[Experiment("omniglot-5w1s", Description = "Omniglot 5-way 1-shot: one inner step at α = 0.4, meta-batch 32, three steps at test."), Omniglot(Ways = 5, TestSteps = 3), Maml]
[Shots(1, Query = 15), InnerSteps(1), InnerLr(0.4), MetaLr(0.001), MetaBatch(32), Iterations(60_000)]
public partial class Omniglot5Way1Shot;

/// <summary>Omniglot 20-way 1-shot: five inner steps at α = 0.1, meta-batch 16, five steps at test.</summary>
[Experiment("omniglot-20w1s", Description = "Omniglot 20-way 1-shot: five inner steps at α = 0.1, meta-batch 16, five steps at test."), Omniglot(Ways = 20, TestSteps = 5), Maml]
[Shots(1, Query = 15), InnerSteps(5), InnerLr(0.1), MetaLr(0.001), MetaBatch(16), Iterations(60_000)]
public partial class Omniglot20Way1Shot;

/// <summary>Mini-ImageNet 5-way 1-shot: five inner steps at α = 0.01, meta-batch 4, ten steps at test.</summary>
[Experiment("miniimagenet-5w1s", Description = "Mini-ImageNet 5-way 1-shot: five inner steps at α = 0.01, meta-batch 4, ten steps at test."), MiniImageNet(Ways = 5, TestSteps = 10), Maml]
[Shots(1, Query = 15), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(4), Iterations(60_000)]
public partial class MiniImageNet5Way1Shot;

/// <summary>Mini-ImageNet 5-way 5-shot: five inner steps at α = 0.01, meta-batch 2, ten steps at test.</summary>
[Experiment("miniimagenet-5w5s", Description = "Mini-ImageNet 5-way 5-shot: five inner steps at α = 0.01, meta-batch 2, ten steps at test."), MiniImageNet(Ways = 5, TestSteps = 10), Maml]
[Shots(5, Query = 15), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(2), Iterations(60_000)]
public partial class MiniImageNet5Way5Shot;

/// <summary>Rendered glyphs 5-way 1-shot with Omniglot's MAML settings (README: ≥ 90 % in under 30 minutes on 2 cores).</summary>
[Experiment("glyphs-5w1s", Description = "Rendered glyphs 5-way 1-shot (offline Omniglot stand-in) with Omniglot's MAML settings, 1,100 iterations."), Glyphs(Ways = 5, TestSteps = 3), Maml]
[Shots(1, Query = 1), InnerSteps(1), InnerLr(0.4), MetaLr(0.001), MetaBatch(32), Iterations(1_100)]
public partial class Glyphs5Way1Shot;

/// <summary>Fashion-MNIST 5-way 1-shot (labels 0–4 meta-train, 5–9 meta-test) with Omniglot's MAML settings.</summary>
[Experiment("fashion-5w1s", Description = "Fashion-MNIST 5-way 1-shot (labels 0–4 meta-train, 5–9 meta-test) with Omniglot's MAML settings."), FashionMnist(Ways = 5, TestSteps = 3), Maml]
[Shots(1, Query = 5), InnerSteps(1), InnerLr(0.4), MetaLr(0.001), MetaBatch(32), Iterations(2_000)]
public partial class Fashion5Way1Shot;
