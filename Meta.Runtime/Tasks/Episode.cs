using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>
/// A meta-batch of T tasks as tensors with a leading task dimension: support (adaptation) and query (evaluation) sets.
/// Inputs are floating point, [T, N, features…]; targets are either floating point [T, N, outputs] (regression) or class
/// labels [T, N] (int64, classification). Shapes and dtypes are checked here, before any tensor reaches autograd (an
/// error inside <c>autograd.grad</c> would abort the process).
/// </summary>
public sealed record Episode
{
    /// <summary>Creates an episode; throws <see cref="ArgumentException"/> if shapes or dtypes disagree.</summary>
    public Episode(Tensor supportX, Tensor supportY, Tensor queryX, Tensor queryY)
    {
        Require(supportX.dim() >= 3 && queryX.dim() == supportX.dim(), "inputs must be [tasks, points, features…] for support and query alike");
        Require(supportY.dim() >= 2 && queryY.dim() == supportY.dim(), "targets must be [tasks, points(, outputs)] for support and query alike");
        var tasks = supportX.shape[0];
        Require(supportY.shape[0] == tasks && queryX.shape[0] == tasks && queryY.shape[0] == tasks,
            "support and query must have the same number of tasks");
        Require(supportX.shape[1] == supportY.shape[1], "support inputs and targets must have the same number of points");
        Require(queryX.shape[1] == queryY.shape[1], "query inputs and targets must have the same number of points");
        Require(supportX.shape.Skip(2).SequenceEqual(queryX.shape.Skip(2)), "support and query inputs must have the same feature shape");
        Require(supportY.shape.Skip(2).SequenceEqual(queryY.shape.Skip(2)), "support and query targets must have the same shape per point");
        Require(supportX.dtype == queryX.dtype && supportX.is_floating_point(), "inputs must share one floating-point dtype");
        Require(supportY.dtype == queryY.dtype, "support and query targets must share one dtype");
        Require(supportY.is_floating_point() ? supportY.dtype == supportX.dtype : supportY.dtype == ScalarType.Int64,
            "targets must be the inputs' dtype (regression) or int64 class labels (classification)");
        SupportX = supportX;
        SupportY = supportY;
        QueryX = queryX;
        QueryY = queryY;
    }

    /// <summary>Support inputs [T, K, …].</summary>
    public Tensor SupportX { get; }
    /// <summary>Support targets [T, K, out] or labels [T, K].</summary>
    public Tensor SupportY { get; }
    /// <summary>Query inputs [T, Q, …].</summary>
    public Tensor QueryX { get; }
    /// <summary>Query targets [T, Q, out] or labels [T, Q].</summary>
    public Tensor QueryY { get; }

    /// <summary>Number of tasks T.</summary>
    public long Tasks => SupportX.shape[0];

    /// <summary>The tasks <paramref name="start"/>..start+count as an episode of their own (views, no copy).</summary>
    public Episode Slice(long start, long count) =>
        new(SupportX.narrow(0, start, count), SupportY.narrow(0, start, count), QueryX.narrow(0, start, count), QueryY.narrow(0, start, count));

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException("invalid episode: " + message);
    }
}
