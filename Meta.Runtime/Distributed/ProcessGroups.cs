namespace Meta.Distributed;

/// <summary>How meta-training is spread over processes.</summary>
public enum DistributedMode
{
    /// <summary>One process.</summary>
    None,
    /// <summary>Data-parallel over MPI ranks (MPICH; launch with <c>mpirun.mpich -np N</c>).</summary>
    Mpi,
}

/// <summary>Creates the process group a run asked for.</summary>
public static class ProcessGroups
{
    /// <summary>The group for <paramref name="mode"/>; throws <see cref="DistributedException"/> with the fix when MPI is unusable.</summary>
    public static IAllReducer Create(DistributedMode mode) => mode switch
    {
        DistributedMode.None => new SingleProcess(),
        DistributedMode.Mpi => MpiAllReducer.Start(),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown distributed mode"),
    };
}
