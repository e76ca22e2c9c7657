using static TorchSharp.torch;

namespace Meta.Tasks;

/// <summary>
/// A meta-batch of regression tasks as tensors: support (adaptation) and query (evaluation) sets with a leading task
/// dimension. Shapes are checked here, before any tensor reaches autograd (an error inside <c>autograd.grad</c> would
/// abort the process).
/// </summary>
public sealed record RegressionEpisode
{
    /// <summary>Creates an episode; throws <see cref="ArgumentException"/> if the shapes disagree.</summary>
    public RegressionEpisode(Tensor supportX, Tensor supportY, Tensor queryX, Tensor queryY)
    {
        Require(supportX.dim() == 3 && supportY.dim() == 3 && queryX.dim() == 3 && queryY.dim() == 3,
            "support and query tensors must be [tasks, points, features]");
        Require(supportX.shape[0] == supportY.shape[0] && supportX.shape[0] == queryX.shape[0] && queryX.shape[0] == queryY.shape[0],
            "support and query must have the same number of tasks");
        Require(supportX.shape[1] == supportY.shape[1], "support inputs and targets must have the same number of points");
        Require(queryX.shape[1] == queryY.shape[1], "query inputs and targets must have the same number of points");
        Require(supportX.shape[2] == queryX.shape[2] && supportY.shape[2] == queryY.shape[2],
            "support and query must have the same feature sizes");
        Require(supportX.dtype == supportY.dtype && supportX.dtype == queryX.dtype && queryX.dtype == queryY.dtype,
            "support and query tensors must share one dtype");
        SupportX = supportX;
        SupportY = supportY;
        QueryX = queryX;
        QueryY = queryY;
    }

    /// <summary>Support inputs [T, K, in].</summary>
    public Tensor SupportX { get; }
    /// <summary>Support targets [T, K, out].</summary>
    public Tensor SupportY { get; }
    /// <summary>Query inputs [T, Q, in].</summary>
    public Tensor QueryX { get; }
    /// <summary>Query targets [T, Q, out].</summary>
    public Tensor QueryY { get; }

    /// <summary>Number of tasks T.</summary>
    public long Tasks => SupportX.shape[0];

    /// <summary>The tasks <paramref name="start"/>..start+count as an episode of their own (views, no copy).</summary>
    public RegressionEpisode Slice(long start, long count) =>
        new(SupportX.narrow(0, start, count), SupportY.narrow(0, start, count), QueryX.narrow(0, start, count), QueryY.narrow(0, start, count));

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException("invalid episode: " + message);
    }
}
