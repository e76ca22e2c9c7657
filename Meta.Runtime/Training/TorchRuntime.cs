using TorchSharp;

namespace Meta;

/// <summary>Process-wide TorchSharp set-up: loading the native library with a clear error, and the CPU thread count.</summary>
public static class TorchRuntime
{
    /// <summary>Loads libtorch now, so a missing or unloadable native library is one clear error instead of a crash mid-run.</summary>
    public static void EnsureLoaded()
    {
        try
        {
            using var probe = torch.ones(1);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            throw new InvalidOperationException(
                "TorchSharp's native library could not be loaded (" + (e.InnerException ?? e).Message + "). " +
                "On Debian 12 the build marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak in the output folder: " +
                "rebuild the project (dotnet build) rather than copying binaries.", e);
        }
    }

    /// <summary>Sets the number of CPU threads libtorch uses (intra-op); small meta-learning graphs are fastest on 1.</summary>
    public static void UseThreads(int threads)
    {
        EnsureLoaded();
        if (threads > 0 && torch.get_num_threads() != threads) torch.set_num_threads(threads);
    }
}
