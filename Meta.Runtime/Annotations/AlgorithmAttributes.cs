using Meta.Algorithms;

namespace Meta;

/// <summary>
/// Algorithm: Reptile (Nichol, Achiam &amp; Schulman 2018). First order by construction: the meta-update moves θ towards
/// the adapted weights, θ ← θ + ε·(mean φ − θ). The outer step defaults to plain SGD at the meta learning rate ε
/// (<see cref="MetaLrAttribute.Optimizer"/> can choose Adam, <see cref="MetaLrAttribute.Schedule"/> a linear decay to 0).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ReptileAttribute : AlgorithmAttribute<ReptileAlgorithm>
{
    /// <summary>The inner-loop optimiser (default SGD; Adam's moments are reset for every task).</summary>
    public InnerOptimizer InnerOptimizer { get; set; } = AlgorithmDefaults.ReptileOptimizer;

    /// <summary>Adam's β1 in the inner loop (Nichol et al. use 0), in [0, 1).</summary>
    public double AdamBeta1 { get; set; } = AlgorithmDefaults.ReptileAdamBeta1;

    /// <summary>Support points per inner step (a fresh random subset); −1 uses the whole support set.</summary>
    public int InnerBatch { get; set; } = AlgorithmDefaults.ReptileInnerBatch;

    /// <summary>Clip each task's inner gradient to this Euclidean norm; 0 does not clip.</summary>
    public double ClipNorm { get; set; } = AlgorithmDefaults.ReptileClipNorm;
}

/// <summary>
/// Algorithm: implicit MAML (Rajeswaran, Finn, Kakade &amp; Levine 2019): a proximal inner loop without a graph and the
/// meta-gradient (I + H/λ)⁻¹∇L_query by conjugate gradient, so memory does not grow with the inner steps.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ImamlAttribute : AlgorithmAttribute<ImamlAlgorithm>
{
    /// <summary>Proximal regularisation strength λ (above 0).</summary>
    public double Lambda { get; set; } = AlgorithmDefaults.ImamlLambda;

    /// <summary>Conjugate-gradient iterations per meta-step (at least 1).</summary>
    public int CgSteps { get; set; } = AlgorithmDefaults.ImamlCgSteps;

    /// <summary>
    /// Truncated CG (default true): a task's conjugate gradient stops at its current iterate when a search direction has
    /// non-positive curvature under I + H/λ; false is the paper's plain CG, which divides by that curvature.
    /// </summary>
    public bool TruncateCg { get; set; } = AlgorithmDefaults.ImamlTruncateCg;

    /// <summary>With <see cref="TruncateCg"/>: the curvature μ ≥ 0 at or below which CG stops a task (pᵀ(I + H/λ)p ≤ μ·pᵀp).</summary>
    public double CgCurvatureFloor { get; set; } = AlgorithmDefaults.ImamlCgCurvatureFloor;

    /// <summary>
    /// Inner-loop backtracking (default true): a proximal SGD step that raises a task's proximal objective is undone and
    /// that task's rate halved; false is the paper's plain SGD.
    /// </summary>
    public bool InnerBacktracking { get; set; } = AlgorithmDefaults.ImamlInnerBacktracking;

    /// <summary>
    /// How each task's proximal problem is solved: <see cref="ProximalSolver.GradientDescent"/> (S steps at the inner rate) or
    /// <see cref="ProximalSolver.NewtonCg"/> (S Newton steps by truncated CG with a line search, the paper's Hessian-free variant).
    /// </summary>
    public ProximalSolver Solver { get; set; } = AlgorithmDefaults.ImamlSolver;

    /// <summary>With <see cref="ProximalSolver.NewtonCg"/>: conjugate-gradient iterations per Newton step (at least 1).</summary>
    public int SolverCgSteps { get; set; } = AlgorithmDefaults.ImamlSolverCgSteps;
}

/// <summary>Algorithm: Meta-SGD (Li et al. 2017): a learned inner learning rate per weight, meta-learned with θ.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class MetaSgdAttribute : AlgorithmAttribute<MetaSgdAlgorithm>
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    public bool FirstOrder { get; set; }

    /// <summary>How the learned inner rates are stored: Sigmoid keeps each in (0, <see cref="RateBound"/> × α); Direct is the papers' unconstrained rates.</summary>
    public RateParameterization RateParameterization { get; set; } = AlgorithmDefaults.RateParameterization;

    /// <summary>The upper bound of every learned rate as a multiple of the inner learning rate (above 0; Sigmoid only).</summary>
    public double RateBound { get; set; } = AlgorithmDefaults.RateBound;

    /// <summary>How α starts: every rate at the inner rate (default), or drawn per parameter from a uniform range (the paper's).</summary>
    public RateInitialization RateInitialization { get; set; }

    /// <summary>The lower end of the uniform initial rates (above 0).</summary>
    public double InitialRateMin { get; set; } = AlgorithmDefaults.MetaSgdInitialRateMin;

    /// <summary>The upper end of the uniform initial rates (at least <see cref="InitialRateMin"/>; below the sigmoid's bound).</summary>
    public double InitialRateMax { get; set; } = AlgorithmDefaults.MetaSgdInitialRateMax;
}

/// <summary>
/// Algorithm: MAML++ (Antoniou, Edwards &amp; Storkey 2019), each improvement switchable. Cosine annealing of the meta
/// learning rate is the default schedule of a MAML++ experiment (<see cref="MetaLrAttribute.Schedule"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class MamlPlusPlusAttribute : AlgorithmAttribute<MamlPlusPlusAlgorithm>
{
    /// <summary>Multi-step loss: a weighted sum of the query losses after every inner step (needs at least 2 inner steps).</summary>
    public bool MultiStepLoss { get; set; } = AlgorithmDefaults.MultiStepLoss;

    /// <summary>Epochs over which the per-step loss weights anneal towards the final step (at least 1).</summary>
    public int MultiStepLossEpochs { get; set; } = AlgorithmDefaults.MultiStepLossEpochs;

    /// <summary>Meta-iterations per epoch, the unit of every MAML++ schedule (at least 1).</summary>
    public int IterationsPerEpoch { get; set; } = AlgorithmDefaults.IterationsPerEpoch;

    /// <summary>LSLR: a learned inner learning rate per layer and per inner step.</summary>
    public bool LearnedLearningRates { get; set; } = AlgorithmDefaults.LearnedLearningRates;

    /// <summary>Derivative-order annealing: first order for this many epochs, then second order (0: always second order).</summary>
    public int FirstOrderEpochs { get; set; }

    /// <summary>Clamp every meta-gradient element to ±this value; 0 does not clamp.</summary>
    public double GradientClamp { get; set; }

    /// <summary>Per-step batch norm: one set of batch-norm weights and running statistics per inner step.</summary>
    public bool PerStepBatchNorm { get; set; }

    /// <summary>How the learned inner rates are stored: Sigmoid keeps each in (0, <see cref="RateBound"/> × α); Direct is the papers' unconstrained rates.</summary>
    public RateParameterization RateParameterization { get; set; } = AlgorithmDefaults.RateParameterization;

    /// <summary>The upper bound of every learned rate as a multiple of the inner learning rate (above 0; Sigmoid only).</summary>
    public double RateBound { get; set; } = AlgorithmDefaults.RateBound;
}

/// <summary>
/// Algorithm: Meta-Curvature (Park &amp; Oliva 2019): learned curvature matrices transform every inner gradient; with
/// <see cref="LearnedLearningRates"/> also a learned rate per layer and step (seed 004's "MAML Enhanced").
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class MetaCurvatureAttribute : AlgorithmAttribute<MetaCurvatureAlgorithm>
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    public bool FirstOrder { get; set; }

    /// <summary>Also learn an inner learning rate per layer and per inner step (LSLR).</summary>
    public bool LearnedLearningRates { get; set; }

    /// <summary>How the learned inner rates are stored: Sigmoid keeps each in (0, <see cref="RateBound"/> × α); Direct is the papers' unconstrained rates.</summary>
    public RateParameterization RateParameterization { get; set; } = AlgorithmDefaults.RateParameterization;

    /// <summary>The upper bound of every learned rate as a multiple of the inner learning rate (above 0; Sigmoid only).</summary>
    public double RateBound { get; set; } = AlgorithmDefaults.RateBound;

    /// <summary>How the curvature matrices are stored: directly (the paper's, default) or as factors L of M = L·Lᵀ.</summary>
    public CurvatureParameterization Curvature { get; set; }
}

/// <summary>Algorithm: ANIL (Raghu et al. 2020): only the network's head adapts in the inner loop; the body is meta-learned.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class AnilAttribute : AlgorithmAttribute<AnilAlgorithm>
{
    /// <summary>Drop the second-order terms of the meta-gradient.</summary>
    public bool FirstOrder { get; set; }
}

/// <summary>The meta-optimiser that applies the outer gradient.</summary>
public enum MetaOptimizerKind
{
    /// <summary>Adam (PyTorch's rule and defaults).</summary>
    Adam,
    /// <summary>Plain SGD: θ ← θ − β·g (Reptile's outer step).</summary>
    Sgd,
}

/// <summary>How the meta learning rate changes over the run.</summary>
public enum LrSchedule
{
    /// <summary>The meta learning rate throughout.</summary>
    Constant,
    /// <summary>Linearly from the meta learning rate to 0 at the last iteration (Reptile).</summary>
    LinearDecay,
    /// <summary>Cosine annealing from the meta learning rate to the minimum (MAML++).</summary>
    Cosine,
}

/// <summary>
/// The algorithms' defaults that an attribute does not pin. The runtime's option records start from the same values, so
/// an experiment and a hand-built algorithm agree.
/// </summary>
public static class AlgorithmDefaults
{
    /// <summary>Reptile's inner optimiser.</summary>
    public const InnerOptimizer ReptileOptimizer = InnerOptimizer.Sgd;

    /// <summary>Reptile's inner Adam β1.</summary>
    public const double ReptileAdamBeta1 = 0.0;

    /// <summary>Reptile's inner batch (−1: the whole support set).</summary>
    public const int ReptileInnerBatch = -1;

    /// <summary>Reptile's gradient clipping norm (0: none).</summary>
    public const double ReptileClipNorm = 0.0;

    /// <summary>iMAML's λ.</summary>
    public const double ImamlLambda = 5.0;

    /// <summary>iMAML's conjugate-gradient steps.</summary>
    public const int ImamlCgSteps = 5;

    /// <summary>iMAML's truncated CG (stop a task at non-positive curvature).</summary>
    public const bool ImamlTruncateCg = true;

    /// <summary>iMAML's curvature floor of truncated CG.</summary>
    public const double ImamlCgCurvatureFloor = 0.1;

    /// <summary>iMAML's inner-loop backtracking.</summary>
    public const bool ImamlInnerBacktracking = true;

    /// <summary>iMAML's proximal solver.</summary>
    public const ProximalSolver ImamlSolver = ProximalSolver.NewtonCg;

    /// <summary>iMAML's CG iterations per Newton step of the Newton-CG proximal solver.</summary>
    public const int ImamlSolverCgSteps = 5;

    /// <summary>MAML++'s multi-step loss switch.</summary>
    public const bool MultiStepLoss = true;

    /// <summary>MAML++'s multi-step loss epochs.</summary>
    public const int MultiStepLossEpochs = 10;

    /// <summary>MAML++'s iterations per epoch.</summary>
    public const int IterationsPerEpoch = 500;

    /// <summary>MAML++'s LSLR switch.</summary>
    public const bool LearnedLearningRates = true;

    /// <summary>How learned inner rates (Meta-SGD, MAML++'s and Meta-Curvature's LSLR) are stored: bounded by a sigmoid.</summary>
    public const RateParameterization RateParameterization = Meta.RateParameterization.Sigmoid;

    /// <summary>The upper bound of a sigmoid-parameterised learned rate, as a multiple of the inner learning rate.</summary>
    public const double RateBound = 10.0;

    /// <summary>The lower end of Meta-SGD's uniform initial rates (the paper's, for regression).</summary>
    public const double MetaSgdInitialRateMin = 0.005;

    /// <summary>The upper end of Meta-SGD's uniform initial rates (the paper's, for regression).</summary>
    public const double MetaSgdInitialRateMax = 0.1;

    /// <summary>The lowest meta learning rate of a cosine schedule.</summary>
    public const double MetaLrMinimum = 1e-5;

    /// <summary>The global meta-gradient norm clip (<c>--meta-grad-clip</c>): 0, off.</summary>
    public const double MetaGradientClip = 0.0;
}
