using Meta;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Tasks;
using static TorchSharp.torch;

namespace MyStudy;

/// <summary>
/// A task family of your own: tasks y = a·(x − h)² + k, each with its own curvature a, shift h and offset k, and x
/// uniform in [−3, 3]. Every [Option] property becomes a command-line flag (MaxCurvature → --max-curvature), a
/// configuration key (Experiments:parabola-study:MaxCurvature) and help text, checked as declared.
/// </summary>
[DefaultNetwork<MlpNetwork>]
public sealed class Parabolas : ITaskFamily
{
    [Option("Largest |curvature| a of a task.", Positive = true)]
    public double MaxCurvature { get; set; } = 0.5;

    [Option("Largest |shift| h of a task's vertex.", NonNegative = true)]
    public double MaxShift { get; set; } = 1;

    [Option("Largest |offset| k of a task's vertex.", NonNegative = true)]
    public double MaxOffset { get; set; } = 1;

    [Option("Support points K per task.", Minimum = 1)]
    public int Shots { get; set; } = 10;

    [Option("Query points per task.", Minimum = 1)]
    public int QueryShots { get; set; } = 10;

    [Option("Held-out tasks of the final evaluation.", Minimum = 2)]
    public int TestTasks { get; set; } = 200;

    /// <summary>One scalar in, one scalar out, real-valued targets (squared error).</summary>
    public TaskShape Shape { get; } = new([1], Outputs: 1, Classification: false);

    public ITaskLoss Loss => TaskLoss.MeanSquaredErrorLoss;

    /// <summary>Called once before the run folder exists: load and check data here (this family has none).</summary>
    public void Prepare(FamilyContext context) { }

    /// <summary>A meta-batch: support and query points of <paramref name="tasks"/> tasks, [T, N, 1] each.</summary>
    public Episode Draw(int tasks, Generator generator)
    {
        var a = Symmetric([tasks, 1, 1], MaxCurvature, generator);
        var h = Symmetric([tasks, 1, 1], MaxShift, generator);
        var k = Symmetric([tasks, 1, 1], MaxOffset, generator);
        var x = Symmetric([tasks, Shots + QueryShots, 1], 3, generator);
        var y = a * (x - h).square() + k;
        return new Episode(x[.., ..Shots], y[.., ..Shots], x[.., Shots..], y[.., Shots..]);
    }

    /// <summary>The run's table: the meta-learned model against training from scratch on the same held-out tasks.</summary>
    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        using var generator = context.Seeds.NewEvaluation();   // the same test tasks in every run of a seed
        using var scope = NewDisposeScope();
        return EpisodeEvaluation.Evaluate(context, Draw(TestTasks, generator), steps: [1, 5, 10]);
    }

    private static Tensor Symmetric(long[] shape, double bound, Generator generator) =>
        (rand(shape, generator: generator) * 2 - 1) * bound;
}
