using Meta;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Experiments.Custom;

// A worked example of Meta's extension points: a task family, a network and an algorithm of your own, each a class with
// [Option] properties, used by experiments exactly like the built-ins. README quotes this file; a test keeps it in step.

/// <summary>Tasks y = a·x + b: each task has its own slope a and offset b; x is uniform in [−5, 5].</summary>
[DefaultNetwork<MlpNetwork>]
public sealed class Lines : ITaskFamily
{
    [Option("Smallest slope of a task.")]
    public double MinSlope { get; set; } = 0.5;

    [Option("Largest slope of a task.", Above = nameof(MinSlope))]
    public double MaxSlope { get; set; } = 2;

    [Option("Largest |offset| of a task.", NonNegative = true)]
    public double MaxOffset { get; set; } = 1;

    [Option("Support points K per task.", Minimum = 1)]
    public int Shots { get; set; } = 5;

    [Option("Query points per task.", Minimum = 1)]
    public int QueryShots { get; set; } = 10;

    [Option("Held-out tasks of the final evaluation.", Minimum = 2)]
    public int TestTasks { get; set; } = 200;

    public TaskShape Shape { get; } = new([1], Outputs: 1, Classification: false);

    public ITaskLoss Loss => TaskLoss.MeanSquaredErrorLoss;

    public void Prepare(FamilyContext context) { }   // nothing to load

    public Episode Draw(int tasks, Generator generator)
    {
        var slope = rand([tasks, 1, 1], generator: generator) * (MaxSlope - MinSlope) + MinSlope;
        var offset = (rand([tasks, 1, 1], generator: generator) * 2 - 1) * MaxOffset;
        var x = rand([tasks, Shots + QueryShots, 1], generator: generator) * 10 - 5;
        var y = slope * x + offset;
        return new Episode(x[.., ..Shots], y[.., ..Shots], x[.., Shots..], y[.., Shots..]);
    }

    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        using var generator = context.Seeds.NewEvaluation();
        using var scope = NewDisposeScope();
        return EpisodeEvaluation.Evaluate(context, Draw(TestTasks, generator), steps: [1, 5, 10]);
    }
}

/// <summary>A network linear in its weights: y = b + c·x + Σₖ wₖ·sin(k·x/2) + vₖ·cos(k·x/2).</summary>
public sealed class FourierNetwork : INetworkDefinition
{
    [Option("Frequencies of the Fourier basis.", Minimum = 1)]
    public int Frequencies { get; set; } = 4;

    public IFunctionalNetwork Create(NetworkContext context) => new FourierBasis(Frequencies);

    private sealed class FourierBasis(int frequencies) : IFunctionalNetwork
    {
        public ParameterLayout Layout { get; } = ParameterLayout.Of(("coefficients", [2 * frequencies + 2, 1], 0));
        public int Inputs => 1;
        public int Outputs => 1;

        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) =>
            zeros(Layout.Count, dtype);

        // weights [T, P], input [T, N, 1] → [T, N, 1]: one batched product over all tasks.
        public Tensor Forward(Tensor weights, Tensor input)
        {
            var k = arange(1, frequencies + 1, dtype: input.dtype) * 0.5;
            var angles = input * k;                                                   // [T, N, K]
            var features = cat([ones_like(input), input, angles.sin(), angles.cos()], 2);  // [T, N, 2K + 2]
            return features.bmm(weights.view(weights.shape[0], -1, 1));
        }
    }
}

/// <summary>
/// First-order MAML written against the public contract alone: adapt each task by SGD on its support set, then take
/// the query loss's gradient at the adapted weights as the meta-gradient. (The built-in [Maml(FirstOrder = true)]
/// computes the same; a test checks the two agree.)
/// </summary>
public sealed class HandWrittenFomaml : IAlgorithmDefinition
{
    [Option("Inner steps S.", Minimum = 1)]
    public int InnerSteps { get; set; } = 5;

    [Option("Inner learning rate α.", Positive = true)]
    public double InnerLr { get; set; } = 0.01;

    public IMetaAlgorithm Create(AlgorithmContext context) => new Algorithm(context.Network, context.Loss, InnerSteps, InnerLr);

    private sealed class Algorithm(IFunctionalNetwork network, ITaskLoss loss, int steps, double lr) : IMetaAlgorithm
    {
        public string Name => "hand-written-fomaml";
        public IFunctionalNetwork Network => network;
        public ITaskLoss Loss => loss;
        public Tensor InitialMetaParameters(Tensor theta) => theta.detach().clone();
        public Tensor Weights(Tensor metaParameters) => metaParameters;

        public Tensor Adapt(Tensor metaParameters, Tensor supportX, Tensor supportY, int steps)
        {
            using var grad = enable_grad();
            var fast = metaParameters.detach().unsqueeze(0).expand(supportX.shape[0], -1);   // [T, P]: one row per task
            for (var s = 0; s < steps; s++)
            {
                var leaf = fast.detach().requires_grad_(true);
                // Summed over tasks: its gradient w.r.t. [T, P] is every task's own gradient.
                var g = torch.autograd.grad([loss.Summed(network.Forward(leaf, supportX), supportY)], [leaf])[0];
                fast = (leaf - lr * g).detach();
            }
            return fast;
        }

        public MetaStepResult MetaStep(Tensor metaParameters, Episode episode, Tensor? taskWeights = null)
        {
            using var grad = enable_grad();
            var fast = Adapt(metaParameters, episode.SupportX, episode.SupportY, steps).requires_grad_(true);
            var taskLosses = loss.PerTask(network.Forward(fast, episode.QueryX), episode.QueryY);
            var metaLoss = taskWeights is null ? taskLosses.mean() : (taskLosses * taskWeights).mean();
            var gradient = torch.autograd.grad([metaLoss], [fast])[0].sum(0L);          // first order: Σ over tasks
            return new MetaStepResult(gradient, metaLoss.detach(), taskLosses.detach());
        }
    }
}

/// <summary>Built-in MAML on the user's family, with the family's default network (the MLP) made wider by [Default].</summary>
[Experiment("lines-maml", Description = "Example of a user task family: MAML on lines y = a·x + b with a 1-32-32-1 MLP.")]
[Tasks<Lines>, Maml, InnerSteps(5), Iterations(2_000), Default("Hidden", new[] { 32, 32 })]
public partial class LinesMaml;

/// <summary>All three parts user-defined.</summary>
[Experiment("lines-fourier", Description = "Example of user parts throughout: hand-written first-order MAML on lines with a Fourier-basis network.")]
[Tasks<Lines>, Network<FourierNetwork>, Algorithm<HandWrittenFomaml>, Iterations(2_000), MetaBatch(16)]
public partial class LinesFourier;
