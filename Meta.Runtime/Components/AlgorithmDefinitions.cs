using Meta.Functional;
using Meta.Hosting;

namespace Meta.Algorithms;

/// <summary>The options every built-in gradient-based algorithm shares: inner steps S and inner learning rate α.</summary>
public abstract class InnerLoopDefinition : IAlgorithmDefinition
{
    /// <inheritdoc />
    [Option("Inner steps S.", Minimum = 1)]
    public int InnerSteps { get; set; } = ExperimentDefaults.InnerSteps;

    /// <inheritdoc />
    [Option("Inner learning rate α.", Positive = true)]
    public double InnerLr { get; set; } = ExperimentDefaults.InnerLr;

    /// <inheritdoc />
    public virtual int NetworkStepSets => 0;

    /// <inheritdoc />
    public abstract IMetaAlgorithm Create(AlgorithmContext context);
}

/// <summary>MAML (Finn et al. 2017): <c>[Maml]</c> or <c>[Algorithm&lt;MamlAlgorithm&gt;]</c>.</summary>
[System.ComponentModel.DisplayName("MAML")]
public class MamlAlgorithm : InnerLoopDefinition
{
    /// <summary>Drop the second-order terms of the meta-gradient (FOMAML).</summary>
    [Option("Drop second-order terms (FOMAML).")]
    public bool FirstOrder { get; set; }

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) =>
        new Maml(context.Network, context.Loss, InnerSteps, InnerLr, FirstOrder);
}

/// <summary>
/// The options of an algorithm with learned inner rates: their meta learning rate and how they are stored
/// (<see cref="LearnedRateMapping"/>, shared by Meta-SGD, MAML++'s LSLR and Meta-Curvature's LSLR).
/// </summary>
public abstract class LearnedRateDefinition : InnerLoopDefinition, ILearnsInnerRates
{
    /// <inheritdoc />
    [Option("Meta learning rate of the learned inner rates, as a multiple of the meta learning rate.", Positive = true)]
    public double LearnedRateScale { get; set; } = 1.0;

    /// <summary>How the learned rates are stored: Sigmoid keeps each in (0, rate bound × α); Direct is the papers' unconstrained rates.</summary>
    [Option("How learned inner rates are stored: sigmoid keeps each in (0, --rate-bound × --inner-lr); direct is the papers' unconstrained rates.",
        WhenAbsent = RateParameterization.Direct)]
    public RateParameterization RateParameterization { get; set; } = AlgorithmDefaults.RateParameterization;

    /// <summary>The upper bound of every learned rate as a multiple of the inner learning rate (sigmoid parameterisation only).</summary>
    [Option("Upper bound of the learned inner rates, as a multiple of the inner learning rate (with --rate-parameterization sigmoid).", Positive = true)]
    public double RateBound { get; set; } = AlgorithmDefaults.RateBound;

    /// <summary>The mapping these options describe.</summary>
    public LearnedRateMapping RateMapping() => LearnedRateMapping.Of(RateParameterization, RateBound * InnerLr);
}

/// <summary>Meta-SGD (Li et al. 2017): a learned inner rate per parameter.</summary>
[System.ComponentModel.DisplayName("Meta-SGD")]
public sealed class MetaSgdAlgorithm : LearnedRateDefinition, IValidatedComponent
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    [Option("Drop second-order terms of the meta-gradient.")]
    public bool FirstOrder { get; set; }

    /// <summary>How α starts: every rate at the inner rate, or drawn per parameter (the paper's initialisation).</summary>
    [Option("How the learned rates start: inner-lr (every rate at --inner-lr) or uniform (each drawn from U[--initial-rate-min, --initial-rate-max] by the run's weight seed, the paper's).")]
    public RateInitialization RateInitialization { get; set; }

    /// <summary>Lower end of the uniform initial rates.</summary>
    [Option("Lowest initial rate of --rate-initialization uniform.", Positive = true)]
    public double InitialRateMin { get; set; } = AlgorithmDefaults.MetaSgdInitialRateMin;

    /// <summary>Upper end of the uniform initial rates.</summary>
    [Option("Highest initial rate of --rate-initialization uniform.", Positive = true)]
    public double InitialRateMax { get; set; } = AlgorithmDefaults.MetaSgdInitialRateMax;

    /// <inheritdoc />
    public void Validate()
    {
        if (RateInitialization != RateInitialization.Uniform) return;
        OptionChecks.Requires(InitialRateMax >= InitialRateMin, "--initial-rate-max must be ≥ --initial-rate-min");
        if (RateParameterization == RateParameterization.Sigmoid)
            OptionChecks.Requires(InitialRateMax < RateBound * InnerLr,
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"--initial-rate-max {InitialRateMax:R} must be below the sigmoid's bound --rate-bound × --inner-lr = {RateBound * InnerLr:R}; raise --rate-bound or pass --rate-parameterization direct"));
    }

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context)
    {
        var algorithm = new MetaSgd(context.Network, context.Loss, InnerSteps, InnerLr, FirstOrder, RateMapping());
        return RateInitialization == RateInitialization.Uniform
            ? algorithm.WithRandomInitialRates(InitialRateMin, InitialRateMax, context.Seeds.Weights)
            : algorithm;
    }
}

/// <summary>ANIL (Raghu et al. 2020): only the head adapts in the inner loop. Needs a network with a head.</summary>
[System.ComponentModel.DisplayName("ANIL")]
public sealed class AnilAlgorithm : InnerLoopDefinition
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    [Option("Drop second-order terms of the meta-gradient.")]
    public bool FirstOrder { get; set; }

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) =>
        context.Network is IHeadNetwork head
            ? new Anil(head, context.Loss, InnerSteps, InnerLr, FirstOrder)
            : throw new OptionException($"ANIL adapts only a network's head, and {context.Network.GetType().Name} has none (it does not implement IHeadNetwork); use the MLP or conv-4");
}

/// <summary>Meta-Curvature (Park and Oliva 2019), optionally with learned per-layer-per-step rates (LSLR).</summary>
[System.ComponentModel.DisplayName("Meta-Curvature")]
public sealed class MetaCurvatureAlgorithm : LearnedRateDefinition
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    [Option("Drop second-order terms of the meta-gradient.")]
    public bool FirstOrder { get; set; }

    /// <summary>Also learn an inner learning rate per layer and step (LSLR).</summary>
    [Option("Also learn an inner learning rate per layer and step (LSLR).")]
    public bool LearnedLearningRates { get; set; }

    /// <inheritdoc />
    /// <summary>How the curvature matrices are stored: direct (the paper's) or as factors of M = L·Lᵀ (positive semidefinite).</summary>
    [Option("How the curvature matrices are stored: direct (the paper's) or positive-semidefinite (factors L of M = L·Lᵀ).", WhenAbsent = CurvatureParameterization.Direct)]
    public CurvatureParameterization Curvature { get; set; }

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) =>
        new MetaCurvature(context.Network, context.Loss, InnerSteps, InnerLr, FirstOrder, LearnedLearningRates, RateMapping(), Curvature);
}

/// <summary>Reptile (Nichol et al. 2018): meta-trained by plain SGD on the pseudo-gradient θ − φ.</summary>
[Default("MetaOptimizer", MetaOptimizerKind.Sgd)]
[System.ComponentModel.DisplayName("Reptile")]
public sealed class ReptileAlgorithm : InnerLoopDefinition, IValidatedComponent
{
    /// <summary>Inner-loop optimiser.</summary>
    [Option("Inner-loop optimiser (state reset for every task).")]
    public InnerOptimizer InnerOptimizer { get; set; } = AlgorithmDefaults.ReptileOptimizer;

    /// <summary>β1 of the inner Adam.</summary>
    [Option("β1 of the inner Adam.", NonNegative = true)]
    public double AdamBeta1 { get; set; } = AlgorithmDefaults.ReptileAdamBeta1;

    /// <summary>Support points per inner step (−1: all).</summary>
    [Option("Support points per inner step (-1: all).", Minimum = -1)]
    public int InnerBatch { get; set; } = AlgorithmDefaults.ReptileInnerBatch;

    /// <summary>Per-task inner-gradient norm clip (0: none).</summary>
    [Option("Clip each task's inner gradient to this norm (0: no clipping).", NonNegative = true)]
    public double ClipNorm { get; set; } = AlgorithmDefaults.ReptileClipNorm;

    /// <inheritdoc />
    public void Validate()
    {
        OptionChecks.Requires(AdamBeta1 < 1, "--adam-beta1 must be below 1");
        OptionChecks.Requires(InnerBatch != 0, "--inner-batch: '0' is not accepted; expected a number of support points ≥ 1, or -1 for all of them");
    }

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) => new Reptile(context.Network, context.Loss, new ReptileOptions
    {
        InnerSteps = InnerSteps,
        InnerLr = InnerLr,
        Optimizer = InnerOptimizer,
        AdamBeta1 = AdamBeta1,
        InnerBatchSize = InnerBatch,
        ClipNorm = ClipNorm > 0 ? ClipNorm : null,
    }, context.Seeds.Tasks);
}

/// <summary>Implicit MAML (Rajeswaran et al. 2019).</summary>
[System.ComponentModel.DisplayName("iMAML")]
public sealed class ImamlAlgorithm : InnerLoopDefinition
{
    /// <summary>Proximal regularisation strength λ.</summary>
    [Option("Proximal regularisation strength λ.", Positive = true)]
    public double Lambda { get; set; } = AlgorithmDefaults.ImamlLambda;

    /// <summary>Conjugate-gradient steps per meta-step.</summary>
    [Option("Conjugate-gradient steps per meta-step.", Minimum = 1)]
    public int CgSteps { get; set; } = AlgorithmDefaults.ImamlCgSteps;

    /// <summary>Truncated CG: a task stops its CG where a search direction has non-positive curvature.</summary>
    [Option("Stop a task's conjugate gradient at (nearly) non-positive curvature instead of dividing by it (false: the paper's plain CG).")]
    public bool TruncateCg { get; set; } = AlgorithmDefaults.ImamlTruncateCg;

    /// <summary>Curvature μ at or below which truncated CG stops a task (pᵀAp ≤ μ·pᵀp).</summary>
    [Option("Truncated CG stops a task where pᵀ(I + H/λ)p ≤ this·pᵀp (0: only at non-positive curvature).", NonNegative = true)]
    public double CgCurvatureFloor { get; set; } = AlgorithmDefaults.ImamlCgCurvatureFloor;

    /// <summary>Inner-loop backtracking: undo a proximal step that raises the proximal objective and halve the task's rate.</summary>
    [Option("Undo an inner step that raises the proximal objective and halve that task's rate (false: the paper's plain SGD).")]
    public bool InnerBacktracking { get; set; } = AlgorithmDefaults.ImamlInnerBacktracking;

    /// <summary>How each task's proximal problem is solved.</summary>
    [Option("How each task's proximal problem is solved: gradient-descent (S steps at --inner-lr, the paper's GD variant) or newton-cg (S Newton steps by truncated CG with a line search, the paper's Hessian-free variant).",
        WhenAbsent = ProximalSolver.GradientDescent)]
    public ProximalSolver Solver { get; set; } = AlgorithmDefaults.ImamlSolver;

    /// <summary>CG iterations per Newton step of the Newton-CG solver.</summary>
    [Option("Conjugate-gradient iterations per Newton step (with --solver newton-cg).", Minimum = 1)]
    public int SolverCgSteps { get; set; } = AlgorithmDefaults.ImamlSolverCgSteps;

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) => new ImplicitMaml(context.Network, context.Loss, new ImplicitMamlOptions
    {
        InnerSteps = InnerSteps,
        InnerLr = InnerLr,
        Lambda = Lambda,
        CgSteps = CgSteps,
        TruncateCg = TruncateCg,
        CgCurvatureFloor = CgCurvatureFloor,
        InnerBacktracking = InnerBacktracking,
        Solver = Solver,
        SolverCgSteps = SolverCgSteps,
    });
}

/// <summary>MAML++ (Antoniou et al. 2019) with every switch; its meta-learning rate follows a cosine schedule by default.</summary>
[Default("MetaLrSchedule", LrSchedule.Cosine)]
[System.ComponentModel.DisplayName("MAML++")]
public sealed class MamlPlusPlusAlgorithm : LearnedRateDefinition, IValidatedComponent
{
    /// <summary>Multi-step loss.</summary>
    [Option("Weighted sum of the query losses after every inner step.")]
    public bool MultiStepLoss { get; set; } = AlgorithmDefaults.MultiStepLoss;

    /// <summary>Epochs of the multi-step loss annealing.</summary>
    [Option("Epochs over which the per-step loss weights anneal.", Minimum = 1)]
    public int MultiStepLossEpochs { get; set; } = AlgorithmDefaults.MultiStepLossEpochs;

    /// <summary>Meta-iterations per epoch.</summary>
    [Option("Meta-iterations per epoch (the unit of MAML++'s schedules).", Minimum = 1)]
    public int IterationsPerEpoch { get; set; } = AlgorithmDefaults.IterationsPerEpoch;

    /// <summary>LSLR.</summary>
    [Option("Learn an inner learning rate per layer and step (LSLR).")]
    public bool LearnedLearningRates { get; set; } = AlgorithmDefaults.LearnedLearningRates;

    /// <summary>Derivative-order annealing.</summary>
    [Option("Epochs of first-order meta-gradients before second order (derivative-order annealing).", Minimum = 0)]
    public int FirstOrderEpochs { get; set; }

    /// <summary>Meta-gradient clamp.</summary>
    [Option("Clamp each meta-gradient element to ±this value (0: no clamping).", NonNegative = true)]
    public double GradientClamp { get; set; }

    /// <summary>Per-step batch norm.</summary>
    [Option("Per-step batch norm: batch-norm weights and statistics per inner step.")]
    public bool PerStepBatchNorm { get; set; }

    /// <inheritdoc />
    public override int NetworkStepSets => PerStepBatchNorm ? InnerSteps : 0;

    /// <inheritdoc />
    public void Validate() => OptionChecks.Requires(!MultiStepLoss || InnerSteps >= 2,
        "--multi-step-loss needs --inner-steps ≥ 2 (with one step it is the ordinary MAML loss: pass --multi-step-loss false)");

    /// <inheritdoc />
    public override IMetaAlgorithm Create(AlgorithmContext context) => new MamlPlusPlus(context.Network, context.Loss, new MamlPlusPlusOptions
    {
        InnerSteps = InnerSteps,
        InnerLr = InnerLr,
        MultiStepLoss = MultiStepLoss,
        MultiStepLossEpochs = MultiStepLossEpochs,
        IterationsPerEpoch = IterationsPerEpoch,
        LearnedLearningRates = LearnedLearningRates,
        FirstOrderEpochs = FirstOrderEpochs,
        GradientClamp = GradientClamp > 0 ? GradientClamp : null,
        RateMapping = RateMapping(),
    });
}
