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
        var (sx, sy, qx, qy) = (supportX.Dims(), supportY.Dims(), queryX.Dims(), queryY.Dims());
        Require(sx.Length >= 3 && qx.Length == sx.Length, "inputs must be [tasks, points, features…] for support and query alike");
        Require(sy.Length >= 2 && qy.Length == sy.Length, "targets must be [tasks, points(, outputs)] for support and query alike");
        var tasks = sx[0];
        Require(sy[0] == tasks && qx[0] == tasks && qy[0] == tasks, "support and query must have the same number of tasks");
        Require(sx[1] == sy[1], "support inputs and targets must have the same number of points");
        Require(qx[1] == qy[1], "query inputs and targets must have the same number of points");
        Require(sx.AsSpan(2).SequenceEqual(qx.AsSpan(2)), "support and query inputs must have the same feature shape");
        Require(sy.AsSpan(2).SequenceEqual(qy.AsSpan(2)), "support and query targets must have the same shape per point");
        var (inputType, targetType) = (supportX.dtype, supportY.dtype);
        Require(inputType == queryX.dtype && supportX.is_floating_point(), "inputs must share one floating-point dtype");
        Require(targetType == queryY.dtype, "support and query targets must share one dtype");
        Require(supportY.is_floating_point() ? targetType == inputType : targetType == ScalarType.Int64,
            "targets must be the inputs' dtype (regression) or int64 class labels (classification)");
        Tasks = tasks;
        (SupportXDims, SupportYDims, QueryXDims, QueryYDims) = (sx, sy, qx, qy);
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
    public long Tasks { get; }

    // The sizes read and checked at construction, so that a step's checks need not read them from libtorch again; an
    // in-place reshape of an episode's tensor afterwards is caught by CheckUnchanged.
    internal long[] SupportXDims { get; }
    internal long[] SupportYDims { get; }
    internal long[] QueryXDims { get; }
    internal long[] QueryYDims { get; }

    /// <summary>Episodes are equal when they hold the same four tensors (the cached sizes follow from them).</summary>
    public bool Equals(Episode? other) =>
        other is not null && ReferenceEquals(SupportX, other.SupportX) && ReferenceEquals(SupportY, other.SupportY)
        && ReferenceEquals(QueryX, other.QueryX) && ReferenceEquals(QueryY, other.QueryY);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(SupportX, SupportY, QueryX, QueryY);

    /// <summary>The tasks <paramref name="start"/>..start+count as an episode of their own (views, no copy).</summary>
    public Episode Slice(long start, long count) =>
        new(SupportX.narrow(0, start, count), SupportY.narrow(0, start, count), QueryX.narrow(0, start, count), QueryY.narrow(0, start, count));

    /// <summary>Throws unless every tensor still has the sizes the episode was made with (one direct call per size).</summary>
    internal void CheckUnchanged()
    {
        if (!SupportX.HasDims(SupportXDims) || !SupportY.HasDims(SupportYDims) || !QueryX.HasDims(QueryXDims) || !QueryY.HasDims(QueryYDims))
            throw new ArgumentException("invalid episode: a tensor was reshaped in place after the episode was made; make a new episode instead");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException("invalid episode: " + message);
    }
}
