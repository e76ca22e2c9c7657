using System.Runtime.InteropServices;

namespace Meta.Distributed;

/// <summary>
/// Collectives over MPI (MPI.NET 1.4.0). MPI.NET is built against MS-MPI's ABI; on Linux it runs over MPICH, whose
/// handle constants match, by resolving <c>msmpi.dll</c> to <c>libmpich.so.12</c>. Open MPI's ABI differs (it crashes),
/// so launch with MPICH's <c>mpirun.mpich</c>, not Debian's default <c>mpirun</c> (Open MPI).
/// </summary>
public sealed class MpiAllReducer : IAllReducer
{
    private static int _resolverInstalled;
    private readonly MPI.Environment _environment;
    private readonly MPI.Intracommunicator _world;

    private MpiAllReducer(MPI.Environment environment, MPI.Intracommunicator world)
    {
        _environment = environment;
        _world = world;
    }

    /// <inheritdoc />
    public int Rank => _world.Rank;

    /// <inheritdoc />
    public int Size => _world.Size;

    /// <summary>
    /// Initialises MPI. Throws <see cref="DistributedException"/> with a one-line fix when the MPICH library is
    /// missing, or when the world has a single rank (not launched by <c>mpirun.mpich -np N</c>, or launched by Open MPI).
    /// </summary>
    public static MpiAllReducer Start()
    {
        InstallResolver();
        MPI.Environment environment;
        try
        {
            var args = Array.Empty<string>();
            environment = new MPI.Environment(ref args);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw new DistributedException("--distributed mpi: the MPICH library (libmpich.so.12) could not be loaded; install it with 'apt-get install mpich' and launch with 'mpirun.mpich -np N'");
        }
        var world = MPI.Communicator.world;
        if (world.Size < 2)
        {
            environment.Dispose();
            throw new DistributedException("--distributed mpi: the MPI world has 1 rank; launch with 'mpirun.mpich -np N dotnet Meta.Experiments.dll …' (Debian's default 'mpirun' is Open MPI, which starts N separate single-rank jobs)");
        }
        return new MpiAllReducer(environment, world);
    }

    /// <inheritdoc />
    public void SumInPlace(double[] values)
    {
        var sum = _world.Allreduce(values, MPI.Operation<double>.Add);
        Array.Copy(sum, values, values.Length);
    }

    /// <inheritdoc />
    public double[] Gather(double[] values) => _world.AllgatherFlattened(values, values.Length);

    /// <inheritdoc />
    public void Dispose() => _environment.Dispose();

    private static void InstallResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(MPI.Communicator).Assembly, static (name, _, _) =>
        {
            if (name != "msmpi.dll" && name != "msmpi") return IntPtr.Zero;
            foreach (var candidate in new[] { "libmpich.so.12", "libmpi.so.12" })
                if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
            return IntPtr.Zero;
        });
    }
}
