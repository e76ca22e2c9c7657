using Meta;

namespace MyStudy;

/// <summary>
/// Second-order MAML on sinusoid regression. The source generator completes this class with SineStudy.Options,
/// SineStudy.Trainer and SineStudy.Descriptor; every attribute value is a default that the command line
/// (--inner-steps 5) and appsettings.json (Experiments:sine-study:InnerSteps) can override.
/// </summary>
[Experiment("sine-study", Description = "Second-order MAML on sinusoid regression: K = 10, one inner step at α = 0.01, meta-batch 25.")]
[Sinusoid]
[Maml]
[InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(25), Shots(10)]
[Iterations(2_000), Seed(1)]
public partial class SineStudy;
