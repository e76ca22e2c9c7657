using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Hosting;
using Meta.Sampling;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta;

/// <summary>What a task family's tasks look like to a network: each example's input shape and the number of outputs.</summary>
/// <param name="Input">The shape of one input example, e.g. <c>[1]</c> for scalar regression or <c>[C, H, W]</c> for images.</param>
/// <param name="Outputs">Regression: target dimensions; classification: classes per task (ways).</param>
/// <param name="Classification">Whether targets are class labels (cross-entropy) rather than real values (squared error).</param>
public sealed record TaskShape(IReadOnlyList<long> Input, int Outputs, bool Classification)
{
    /// <summary>Scalar features: the product of <see cref="Input"/>.</summary>
    public int InputFeatures => (int)Input.Aggregate(1L, (a, b) => a * b);

    /// <inheritdoc />
    public override string ToString() => $"[{string.Join(", ", Input)}] → {Outputs}{(Classification ? " classes" : "")}";
}

/// <summary>
/// A task family: the source of meta-training episodes and the judge of the final evaluation. Implementations have a
/// public parameterless constructor and expose their settings as public settable properties marked
/// <see cref="OptionAttribute"/>; the generated experiment sets them from configuration and the command line, then calls
/// <see cref="Prepare"/> once before anything is written (load data there, not in the constructor).
/// Name one with <c>[Tasks&lt;T&gt;]</c> on an experiment.
/// </summary>
public interface ITaskFamily
{
    /// <summary>
    /// Loads data and checks the settings together, before the run folder exists. Throw <see cref="OptionException"/>
    /// for a bad setting or <see cref="Tasks.Images.DatasetException"/> for missing or unfit data: the host prints its
    /// one-line message and exits with code 2.
    /// </summary>
    void Prepare(FamilyContext context);

    /// <summary>The shape of the tasks' inputs and outputs (valid after <see cref="Prepare"/>).</summary>
    TaskShape Shape { get; }

    /// <summary>The per-task loss (squared error for regression, cross-entropy for classification).</summary>
    ITaskLoss Loss { get; }

    /// <summary>A meta-batch of <paramref name="tasks"/> tasks, drawn from <paramref name="generator"/>.</summary>
    Episode Draw(int tasks, Generator generator);

    /// <summary>
    /// The end-of-run evaluation: adapt the meta-learned model to held-out tasks and report. Return null when the family
    /// has no table to add. Honour <see cref="EvaluationContext.Cancel"/> between tasks.
    /// </summary>
    EvaluationReport? Evaluate(EvaluationContext context);
}

/// <summary>
/// A task family whose tasks are points of a box of continuous parameters: what a <c>[Sampler]</c> (seed 000's
/// priority-queue regimes) and the validation grid need.
/// </summary>
public interface ISampledTaskFamily : ITaskFamily
{
    /// <summary>The parameter box and its episodes.</summary>
    IContinuousTaskFamily Space { get; }

    /// <summary>The episode of the tasks given by <paramref name="parameters"/> [T, D], with the family's support and query sizes.</summary>
    Episode EpisodeFor(Tensor parameters, Generator generator);

    /// <summary>The priority queue's block size per task parameter (null: the space's defaults).</summary>
    IReadOnlyList<double>? QueueBlocks { get; }
}

/// <summary>What a family may use while preparing.</summary>
/// <param name="Seed">The run seed (for deterministic splits).</param>
public sealed record FamilyContext(long Seed);

/// <summary>
/// Builds the functional network an experiment meta-learns. Implementations have a public parameterless constructor and
/// <see cref="OptionAttribute"/> properties (widths, filters, …). Name one with <c>[Network&lt;T&gt;]</c>, or let the
/// family's <c>[DefaultNetwork&lt;T&gt;]</c> choose.
/// </summary>
public interface INetworkDefinition
{
    /// <summary>The network for tasks of <see cref="NetworkContext.Shape"/>.</summary>
    IFunctionalNetwork Create(NetworkContext context);
}

/// <summary>What a network is built for.</summary>
/// <param name="Shape">The family's task shape.</param>
/// <param name="StepSets">Per-step normalisation sets the algorithm asks for (MAML++'s per-step batch norm); 0 for none.</param>
public sealed record NetworkContext(TaskShape Shape, int StepSets);

/// <summary>
/// Builds the meta-learning algorithm. Implementations have a public parameterless constructor and
/// <see cref="OptionAttribute"/> properties. Name one with <c>[Algorithm&lt;T&gt;]</c>.
/// </summary>
public interface IAlgorithmDefinition
{
    /// <summary>Inner steps S during meta-training (also the default number of steps when adapting a trained model).</summary>
    int InnerSteps { get; }

    /// <summary>Inner learning rate α (also the rate of the baselines' plain SGD adaptation).</summary>
    double InnerLr { get; }

    /// <summary>Per-step normalisation sets the network must have (MAML++'s per-step batch norm); 0 for none.</summary>
    int NetworkStepSets => 0;

    /// <summary>The algorithm over <see cref="AlgorithmContext.Network"/> with <see cref="AlgorithmContext.Loss"/>.</summary>
    IMetaAlgorithm Create(AlgorithmContext context);
}

/// <summary>An algorithm definition whose meta-parameters hold learned inner rates, which get their own meta learning rate.</summary>
public interface ILearnsInnerRates
{
    /// <summary>The learned rates' meta learning rate as a multiple of the meta learning rate (above 0).</summary>
    double LearnedRateScale { get; }
}

/// <summary>What an algorithm is built over.</summary>
/// <param name="Network">The functional network.</param>
/// <param name="Loss">The family's per-task loss.</param>
/// <param name="Seeds">The run's random streams (an algorithm that samples, e.g. Reptile's inner mini-batches, uses <see cref="RunSeeds.Tasks"/>).</param>
public sealed record AlgorithmContext(IFunctionalNetwork Network, ITaskLoss Loss, RunSeeds Seeds);

/// <summary>Everything a family's final evaluation may use.</summary>
public sealed record EvaluationContext
{
    /// <summary>The run (results, phases, folder).</summary>
    public required ExperimentRun Run { get; init; }
    /// <summary>The trained algorithm (adapts by its own rule).</summary>
    public required IMetaAlgorithm Algorithm { get; init; }
    /// <summary>Its definition (inner steps and rate).</summary>
    public required IAlgorithmDefinition Definition { get; init; }
    /// <summary>The meta-parameters [M].</summary>
    public required Tensor MetaParameters { get; init; }
    /// <summary>The run's random streams.</summary>
    public required RunSeeds Seeds { get; init; }
    /// <summary>The sampler session of a <c>[Sampler]</c> experiment, or null.</summary>
    public SamplerSession? Sampling { get; init; }
    /// <summary>Tasks per meta-batch during training.</summary>
    public required int MetaBatch { get; init; }
    /// <summary>The meta learning rate (baselines trained by Adam use it).</summary>
    public required double MetaLr { get; init; }
    /// <summary>The weight initialisation scheme (the from-scratch baseline uses it).</summary>
    public required WeightInit Init { get; init; }
    /// <summary>Stops the evaluation early (the run then ends as stopped).</summary>
    public CancellationToken Cancel { get; init; }
}

/// <summary>
/// A component (task family, network or algorithm definition) whose options must agree with each other. The generated
/// <c>Options.Validate()</c> calls <see cref="Validate"/> after the per-option checks; throw <see cref="OptionException"/>
/// (e.g. through <see cref="OptionChecks.Requires"/>) naming the flags involved.
/// </summary>
public interface IValidatedComponent
{
    /// <summary>Checks the options together.</summary>
    void Validate();
}
