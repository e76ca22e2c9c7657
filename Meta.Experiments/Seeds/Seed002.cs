using Meta;
using Meta.Functional;

namespace Meta.Experiments.Seeds;

// Seed 002 (the MAML assignment): one task per meta-step (meta-batch 1), 40,000 episodes, 10 support and 40 query
// points, inner rate 0.01, Adam at PyTorch's default 1e-3, PyTorch's default initialisation. Its unit tests ask for a
// mean of the last 500 query losses below 0.7 (K = 10, 1 step) and 0.8 (K = 5, 5 steps). The skeleton hints at a
// first-order gradient while the text describes MAML: we run second-order MAML (the paper's method). [ScratchCurve] is the
// assignment's TrainFromScratch comparison: one fixed random initialisation trained by 10 Adam steps on every episode's
// support set, plotted against MAML's query loss in windows of 300 episodes (learning-curve.png).

/// <summary>Seed 002: MAML with one inner step, K = 10.</summary>
[Experiment("seed002-maml-s1", Description = "Seed 002 (MAML assignment): MAML on sinusoids, one task per step, one inner step, K = 10, with the from-scratch curve."), Sinusoid, Maml, ScratchCurve(Steps = 10, LearningRate = 0.001, Window = 300), Init(WeightInit.PyTorch)]
[Shots(10, Query = 40), InnerSteps(1), InnerLr(0.01), MetaLr(0.001), MetaBatch(1), Iterations(40_000)]
public partial class Seed002MamlOneStep;

/// <summary>Seed 002: MAML with five inner steps, K = 5.</summary>
[Experiment("seed002-maml-s5", Description = "Seed 002 (MAML assignment): MAML on sinusoids, one task per step, five inner steps, K = 5, with the from-scratch curve."), Sinusoid, Maml, ScratchCurve(Steps = 10, LearningRate = 0.001, Window = 300), Init(WeightInit.PyTorch)]
[Shots(5, Query = 40), InnerSteps(5), InnerLr(0.01), MetaLr(0.001), MetaBatch(1), Iterations(40_000)]
public partial class Seed002MamlFiveSteps;
