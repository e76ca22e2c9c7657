namespace Meta;

/// <summary>
/// Defaults of the options every experiment has, used by generated <c>Options</c> types for any value the experiment's
/// attributes leave unset. The sinusoid defaults follow Finn et al. (2017): 1 inner step at α = 0.01, meta-batch 25,
/// K = 10, Adam at 1e-3.
/// </summary>
public static class ExperimentDefaults
{
    /// <summary>Meta-iterations (a default run finishes in well under two minutes on two cores).</summary>
    public const int Iterations = 20_000;
    /// <summary>Tasks per meta-batch.</summary>
    public const int MetaBatch = 25;
    /// <summary>Support points K per task.</summary>
    public const int Shots = 10;
    /// <summary>Inner SGD steps S.</summary>
    public const int InnerSteps = 1;
    /// <summary>Inner learning rate α.</summary>
    public const double InnerLr = 0.01;
    /// <summary>Meta learning rate (Adam).</summary>
    public const double MetaLr = 0.001;
    /// <summary>The run seed.</summary>
    public const long Seed = 1;
    /// <summary>Fixed test tasks for the final evaluation.</summary>
    public const int EvalTasks = 600;
    /// <summary>Evenly spaced test points per evaluation task.</summary>
    public const int EvalPoints = 100;
    /// <summary>Adam iterations for the jointly pre-trained baseline.</summary>
    public const int PretrainIterations = 5_000;
    /// <summary>libtorch CPU threads.</summary>
    public const int Threads = 1;
    /// <summary>Root folder of run folders.</summary>
    public const string Output = "runs";
    /// <summary>Iterations between progress lines.</summary>
    public const int LogEvery = 1_000;
    /// <summary>Iterations between checkpoints (0: only at the end and when stopped).</summary>
    public const int CheckpointEvery = 1_000;
    /// <summary>Checkpoints kept per run.</summary>
    public const int KeepCheckpoints = 3;
    /// <summary>No resume: a fresh run.</summary>
    public const string Resume = "";
    /// <summary>Support sizes K of the evaluation table.</summary>
    public static IReadOnlyList<int> EvalShots { get; } = [5, 10, 20];
    /// <summary>Inner steps of the evaluation table.</summary>
    public static IReadOnlyList<int> EvalSteps { get; } = [1, 5, 10];
}
