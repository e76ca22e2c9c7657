using Meta;

namespace Meta.Experiments;

/// <summary>Second-order MAML on 2-D sinusoid regression with the MAML paper's settings (Finn et al. 2017, §5.1).</summary>
[Experiment("sine-maml", Description = "Second-order MAML on sinusoid regression (Finn et al. 2017): K = 10, one inner step at α = 0.01, meta-batch 25.")]
[Sinusoid]
[Maml]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10)]
[Iterations(20_000), Seed(1)]
public partial class SineMaml;
