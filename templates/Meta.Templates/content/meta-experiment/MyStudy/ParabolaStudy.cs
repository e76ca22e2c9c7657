using Meta;

namespace MyStudy;

/// <summary>
/// The experiment: built-in second-order MAML over this project's task family (Parabolas.cs) and network
/// (TanhSkipNetwork.cs). The source generator completes the class with ParabolaStudy.Options, .Trainer and
/// .Descriptor; every attribute value is a default that the command line (--inner-steps 1, --width 64) and
/// appsettings.json (Experiments:parabola-study:InnerSteps) override. Swap in a built-in family with [Sinusoid] or an
/// algorithm with [Algorithm&lt;ReptileAlgorithm&gt;].
/// </summary>
[Experiment("parabola-study", Description = "Second-order MAML on parabolas y = a·(x − h)² + k with a tanh network and a linear skip, both defined in this project.")]
[Tasks<Parabolas>, Network<TanhSkipNetwork>, Maml]
[InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(16), Shots(10)]
[Iterations(2_000), Seed(1)]
public partial class ParabolaStudy;
