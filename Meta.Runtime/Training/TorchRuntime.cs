using System.Runtime.InteropServices;
using TorchSharp;

namespace Meta;

/// <summary>Process-wide TorchSharp set-up: loading the native library with a clear error, and the CPU thread count.</summary>
public static class TorchRuntime
{
    private static volatile bool loaded;

    /// <summary>
    /// Loads libtorch now, so a missing or unloadable native library is one clear error instead of a crash mid-run.
    /// Throws <see cref="NativeLibraryLoadException"/> whose message is one line naming the cause and the fix.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (loaded) return;
        // Probe the output folder's copy first: when it cannot load, TorchSharp's own loader prints a long trace and
        // copies every libtorch library into a cpu/ folder before it gives up. dlopen's message names the real cause.
        var problem = ProbeNativeLibrary(AppContext.BaseDirectory);
        if (problem is not null) throw new NativeLibraryLoadException(problem);
        try
        {
            using var probe = torch.ones(1);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
        {
            throw new NativeLibraryLoadException(
                "TorchSharp's native library could not be loaded (" + FirstLine((e.InnerException ?? e).Message) + "); " +
                "reference the TorchSharp-cpu package (the Meta package brings it) and rebuild with dotnet build.", e);
        }
        Allocator = NativeHeap.SetUp(Environment.GetEnvironmentVariable);
        loaded = true;
    }

    /// <summary>
    /// How this process's native heap is set up, for run summaries; null before libtorch is loaded. By default (on Linux
    /// with glibc) freed memory stays in the heap for the next allocation instead of going back to the kernel: libtorch
    /// allocates every activation afresh, and glibc unmaps each large block when it is freed, so the next step
    /// page-faults it in again, zero-filled: half the time of a conv-4 meta-step (README, Speed). <c>META_MALLOC=system</c>
    /// keeps the C library's defaults; malloc settings in the environment (GLIBC_TUNABLES with glibc.malloc, MALLOC_*_, a
    /// preloaded allocator) are left as they are. See <see cref="Hosting.MetaHost.RunAsync(string[], IReadOnlyList{Hosting.ExperimentDescriptor}, Action{Microsoft.Extensions.Hosting.HostApplicationBuilder}?, CancellationToken)"/>
    /// for how a Meta program applies it from its first instruction.
    /// </summary>
    public static string? Allocator { get; private set; }

    /// <summary>
    /// The GLIBC_TUNABLES a restarted Meta program runs with (<see cref="RestartWithKeptHeap"/>): one malloc arena, no
    /// block mapped on its own, the heap trimmed only beyond 2 GiB. Set them yourself to give another process (a PyTorch
    /// comparison, a container's entry point) the same heap.
    /// </summary>
    public const string KeptHeapTunables = NativeHeap.Tunables;

    /// <summary>
    /// For a program of your own that runs Meta without <see cref="Hosting.MetaHost"/> (which does this itself): called
    /// first thing in <c>Main</c> with <c>Main</c>'s <paramref name="args"/>, restarts the process, on Linux with glibc,
    /// with malloc set to keep freed memory from its first instruction (<see cref="Allocator"/>): the same process id,
    /// arguments and open files. Returns when it does not restart: elsewhere, under a debugger, with
    /// <c>META_MALLOC=system</c> or malloc settings in the environment, once restarted, or when
    /// <paramref name="args"/> are not the process's own command line.
    /// </summary>
    public static void RestartWithKeptHeap(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        NativeHeap.RelaunchTuned(args);
    }

    /// <summary>
    /// On Linux, loads <c>runtimes/linux-x64/native/libLibTorchSharp.so</c> under <paramref name="baseDirectory"/> and
    /// returns one line naming the cause and the fix when it cannot be loaded; null when it loads, is absent (TorchSharp
    /// then finds it its own way) or the platform is not Linux.
    /// </summary>
    internal static string? ProbeNativeLibrary(string baseDirectory)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return null;
        var path = Path.Combine(baseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path)) return null;
        try
        {
            NativeLibrary.Load(path);
            return null;
        }
        catch (DllNotFoundException e)
        {
            return DescribeLoadFailure(path, e.Message);
        }
    }

    /// <summary>One line for a failed load of <paramref name="path"/>, given the loader's message.</summary>
    internal static string DescribeLoadFailure(string path, string loaderMessage)
    {
        // .NET puts dlerror's text on the message's last line, after a generic paragraph.
        var cause = LastLine(loaderMessage);
        var glibcxx = System.Text.RegularExpressions.Regex.Match(loaderMessage, @"GLIBCXX_[0-9.]+");
        if (glibcxx.Success)
            return "TorchSharp's native library " + path + " needs " + glibcxx.Value + ", which this system's libstdc++ lacks; " +
                   "the Meta package's build step marks that requirement weak in the build output: rebuild with dotnet build " +
                   "(do not copy binaries from elsewhere or set MetaSkipTorchPatch=true).";
        return "TorchSharp's native library " + path + " could not be loaded (" + cause + "); " +
               "rebuild with dotnet build so the output folder holds the TorchSharp-cpu natives.";
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : lines[^1];
    }

    private static string FirstLine(string text)
    {
        var line = text.AsSpan().Trim();
        var end = line.IndexOfAny('\r', '\n');
        return (end < 0 ? line : line[..end]).TrimEnd().ToString();
    }

    /// <summary>Sets the number of CPU threads libtorch uses (intra-op); small meta-learning graphs are fastest on 1.</summary>
    public static void UseThreads(int threads)
    {
        EnsureLoaded();
        if (threads > 0 && torch.get_num_threads() != threads) torch.set_num_threads(threads);
    }
}

/// <summary>
/// TorchSharp's native library could not be loaded; the message is one line naming the cause and the fix. The program's
/// error boundary prints it as is and exits with code 1.
/// </summary>
public sealed class NativeLibraryLoadException : InvalidOperationException
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public NativeLibraryLoadException(string message) : base(message) { }

    /// <summary>Creates the exception with its one-line message and the loader's exception.</summary>
    public NativeLibraryLoadException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a generic message.</summary>
    public NativeLibraryLoadException() : base("TorchSharp's native library could not be loaded") { }
}
