namespace Meta;

/// <summary>
/// Declares a meta-learning experiment. The class must be <c>partial</c>: Meta's source generator completes it with an
/// <c>Options</c> type, a <c>Trainer</c> holding the training loop, and its registration with the host.
/// </summary>
/// <param name="name">The name users type on the command line, e.g. <c>sine-maml</c>. Lower case, digits and '-'.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ExperimentAttribute(string name) : Attribute
{
    /// <summary>The command-line name of the experiment.</summary>
    public string Name { get; } = name;

    /// <summary>One sentence shown in <c>--help</c> and in the run summary.</summary>
    public string? Description { get; set; }
}

/// <summary>Task family: sinusoid regression y = A·sin(x − φ) (Finn et al. 2017). Default network: the 1-40-40-1 ReLU MLP.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class SinusoidAttribute : TasksAttribute<Meta.Tasks.Sinusoids>
{
    /// <summary>Lower bound of the amplitude A (default 0.1).</summary>
    public double AmplitudeMin { get; set; } = SinusoidRanges.Default.AmplitudeMin;
    /// <summary>Upper bound of the amplitude A (default 5).</summary>
    public double AmplitudeMax { get; set; } = SinusoidRanges.Default.AmplitudeMax;
    /// <summary>Lower bound of the phase φ in radians (default 0).</summary>
    public double PhaseMin { get; set; } = SinusoidRanges.Default.PhaseMin;
    /// <summary>Upper bound of the phase φ in radians (default π).</summary>
    public double PhaseMax { get; set; } = SinusoidRanges.Default.PhaseMax;
    /// <summary>Lower bound of the input x (default −5).</summary>
    public double InputMin { get; set; } = SinusoidRanges.Default.InputMin;
    /// <summary>Upper bound of the input x (default 5).</summary>
    public double InputMax { get; set; } = SinusoidRanges.Default.InputMax;
}

/// <summary>Algorithm: MAML (Finn et al. 2017). Second order unless <see cref="FirstOrder"/> is set (FOMAML).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class MamlAttribute : AlgorithmAttribute<Meta.Algorithms.MamlAlgorithm>
{
    /// <summary>Drop the second-order terms of the meta-gradient (FOMAML).</summary>
    public bool FirstOrder { get; set; }
}

/// <summary>Number of inner-loop SGD steps per task during meta-training (S, at least 1).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class InnerStepsAttribute(int steps) : Attribute
{
    /// <summary>The number of steps.</summary>
    public int Steps { get; } = steps;
}

/// <summary>Inner-loop learning rate α (greater than 0).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class InnerLrAttribute(double rate) : Attribute
{
    /// <summary>The rate.</summary>
    public double Rate { get; } = rate;
}

/// <summary>
/// Meta (outer) learning rate β (greater than 0), and optionally the meta-optimiser and its schedule. Unset, the
/// optimiser is Adam (SGD for Reptile) and the schedule constant (cosine for MAML++).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MetaLrAttribute(double rate) : Attribute
{
    /// <summary>The rate.</summary>
    public double Rate { get; } = rate;

    /// <summary>The meta-optimiser.</summary>
    public MetaOptimizerKind Optimizer { get; set; }

    /// <summary>How the rate changes over the run.</summary>
    public LrSchedule Schedule { get; set; }

    /// <summary>The lowest rate of a cosine schedule (at least 0, below the rate).</summary>
    public double Minimum { get; set; } = AlgorithmDefaults.MetaLrMinimum;

    /// <summary>
    /// Clip the meta-gradient (all meta-parameters, averaged over tasks and ranks) to this global L2 norm before each
    /// optimiser step (at least 0; default 0, no clipping). The option <c>--meta-grad-clip</c>.
    /// </summary>
    public double GradientClip { get; set; } = AlgorithmDefaults.MetaGradientClip;

    /// <summary>
    /// Meta-SGD, MAML++ and Meta-Curvature: the learned inner learning rates get the meta rate times this (above 0;
    /// default 1, the same rate as the weights).
    /// </summary>
    public double LearnedRateScale { get; set; } = 1.0;
}

/// <summary>Tasks per meta-batch (at least 1).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class MetaBatchAttribute(int tasks) : Attribute
{
    /// <summary>The number of tasks.</summary>
    public int Tasks { get; } = tasks;
}

/// <summary>Support points (K) per task during meta-training, and query points unless <see cref="Query"/> is set.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ShotsAttribute(int support) : Attribute
{
    /// <summary>Support points per task.</summary>
    public int Support { get; } = support;
    /// <summary>Query points per task; 0 means the same as <see cref="Support"/>.</summary>
    public int Query { get; set; }
}

/// <summary>Number of meta-iterations (outer steps).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class IterationsAttribute(int count) : Attribute
{
    /// <summary>The number of meta-iterations.</summary>
    public int Count { get; } = count;
}

/// <summary>The run's seed; task sampling, weight initialisation and evaluation draw from separate streams derived from it.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SeedAttribute(long seed) : Attribute
{
    /// <summary>The seed.</summary>
    public long Seed { get; } = seed;
}

/// <summary>
/// Task family: 3-D sinusoid regression y = A·sin(φ + ω·x) (seed 000's <c>sin3d</c>), with the 1-40-40-1 ReLU MLP.
/// Its three continuous parameters (A, φ, ω) suit the priority-queue samplers.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class Sinusoid3DAttribute : TasksAttribute<Meta.Tasks.Sinusoids3D>
{
    /// <summary>Lower bound of the amplitude A (default 0.1).</summary>
    public double AmplitudeMin { get; set; } = Sinusoid3DRanges.Default.AmplitudeMin;
    /// <summary>Upper bound of the amplitude A (default 5).</summary>
    public double AmplitudeMax { get; set; } = Sinusoid3DRanges.Default.AmplitudeMax;
    /// <summary>Lower bound of the phase φ in radians (default 0).</summary>
    public double PhaseMin { get; set; } = Sinusoid3DRanges.Default.PhaseMin;
    /// <summary>Upper bound of the phase φ in radians (default π).</summary>
    public double PhaseMax { get; set; } = Sinusoid3DRanges.Default.PhaseMax;
    /// <summary>Lower bound of the frequency ω (default 0.5).</summary>
    public double FrequencyMin { get; set; } = Sinusoid3DRanges.Default.FrequencyMin;
    /// <summary>Upper bound of the frequency ω (default 2).</summary>
    public double FrequencyMax { get; set; } = Sinusoid3DRanges.Default.FrequencyMax;
    /// <summary>Lower bound of the input x (default −5).</summary>
    public double InputMin { get; set; } = Sinusoid3DRanges.Default.InputMin;
    /// <summary>Upper bound of the input x (default 5).</summary>
    public double InputMax { get; set; } = Sinusoid3DRanges.Default.InputMax;
}

/// <summary>
/// Trains a fixed random initialisation from scratch on every training episode beside meta-training and writes both
/// learning curves (seed 002's comparison with "TrainFromScratch"): <c>learning-curve.png</c> and <c>.csv</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ScratchCurveAttribute : Attribute
{
    /// <summary>Adam steps per episode (seed 002: 10).</summary>
    public int Steps { get; set; } = 10;

    /// <summary>Adam's learning rate (PyTorch's default 1e-3).</summary>
    public double LearningRate { get; set; } = 0.001;

    /// <summary>Iterations per plotted window mean (seed 002: 300); also the span of the summary's final means.</summary>
    public int Window { get; set; } = 300;
}

/// <summary>The weight initialisation (default: Finn et al.'s for sinusoids, PyTorch's for conv-4).</summary>
/// <param name="scheme">The scheme.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class InitAttribute(Meta.Functional.WeightInit scheme) : Attribute
{
    /// <summary>The scheme.</summary>
    public Meta.Functional.WeightInit Scheme { get; } = scheme;
}
