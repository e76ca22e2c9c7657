using System.Collections;
using System.Diagnostics;

namespace Meta;

/// <summary>
/// Keeps libtorch's freed memory in the process for reuse (Linux, glibc). libtorch allocates every activation and gradient
/// afresh through malloc; glibc serves a block above its mmap threshold (128 KiB, rising with use to at most 32 MiB) with
/// a fresh mapping and unmaps it when it is freed, trims its heaps' free tops above 128 KiB, and gives every thread an
/// arena of its own whose blocks above 64 MiB are always mapped afresh. A task-batched step allocates tens to hundreds of
/// megabytes of activations, so every step page-faults them all in again, zero-filled: on conv-4's Omniglot meta-batch
/// that was half or more of the step (README, Speed). With <see cref="Tunables"/> all threads share one arena, nothing is
/// mapped on its own and the heap is trimmed only beyond 2 GiB; the peak resident memory stays what it was, it is simply
/// not handed back between steps.
/// </summary>
/// <remarks>
/// glibc reads its tunables when a process starts, so <see cref="RelaunchTuned"/> (called first thing by
/// <see cref="Hosting.MetaHost.RunAsync(string[], IReadOnlyList{Hosting.ExperimentDescriptor}, Action{Microsoft.Extensions.Hosting.HostApplicationBuilder}?, CancellationToken)"/>)
/// replaces a Meta program's process with itself started with them (execve: same process id, same arguments, same open
/// files, before anything has run), as launchers like Intel's for PyTorch set the allocator up before a script starts.
/// Code that loads libtorch in a process of its own making (tests, a notebook) gets <see cref="SetUp"/>'s fallback:
/// the same settings through mallopt, which reach the main thread's arena but not threads that already have one of their
/// own, nor, reliably, threads started later (glibc hands them existing arenas in turn).
/// <c>META_MALLOC=system</c> leaves glibc's defaults; malloc settings already in the environment are left as they are.
/// </remarks>
internal static class NativeHeap
{
    /// <summary>The glibc tunables a relaunched program starts with.</summary>
    public const string Tunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647";

    public enum Choice
    {
        /// <summary>Keep freed memory (the default).</summary>
        Keep,

        /// <summary>META_MALLOC=system: the C library's defaults.</summary>
        System,

        /// <summary>The environment already configures malloc (GLIBC_TUNABLES, MALLOC_*_, LD_PRELOAD).</summary>
        UserSettings,
    }

    private static readonly string[] MallocVariables = ["MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_"];

    /// <summary>What to do with malloc, from <paramref name="environment"/>; a bad META_MALLOC throws a one-line <see cref="Hosting.OptionException"/>.</summary>
    public static Choice Choose(Func<string, string?> environment)
    {
        var setting = environment("META_MALLOC");
        if (setting is not (null or "" or "keep" or "system"))
            throw Hosting.OptionException.Rejected("META_MALLOC (environment)", setting, "keep (the default) or system");
        if (setting == "system") return Choice.System;
        var configured = (environment("GLIBC_TUNABLES") ?? "").Contains("glibc.malloc.", StringComparison.Ordinal)
            || MallocVariables.Any(name => !string.IsNullOrEmpty(environment(name)))
            || (environment("LD_PRELOAD") ?? "").Contains("alloc", StringComparison.OrdinalIgnoreCase);
        return configured ? Choice.UserSettings : Choice.Keep;
    }

    /// <summary>
    /// Applies the fallback when the process did not start with the tunables, and returns the line a run summary shows
    /// (<see cref="TorchRuntime.Allocator"/>).
    /// </summary>
    public static string SetUp(Func<string, string?> environment)
    {
        if (StartedTuned(environment)) return "glibc malloc keeping freed memory (started with GLIBC_TUNABLES=" + Tunables + ")";
        return Choose(environment) switch
        {
            Choice.Keep when Posix.KeepFreedMemory() => "glibc malloc keeping freed memory on the main thread (set by mallopt after start; other threads' arenas keep glibc's defaults)",
            Choice.Keep => "the C library's malloc with its defaults (not glibc)",
            Choice.UserSettings => "malloc as the environment configures it (GLIBC_TUNABLES, MALLOC_* or LD_PRELOAD)",
            _ => "malloc with the C library's defaults (META_MALLOC=system)",
        };
    }

    /// <summary>
    /// When this is a Meta program's own command line (<paramref name="args"/> are the process's arguments) on Linux with
    /// glibc, not under a debugger, and the heap is to be kept (<see cref="Choose"/>) but the process did not start with
    /// the tunables: replaces the process with itself started with them. Returns when it does not (or cannot); never throws.
    /// </summary>
    public static void RelaunchTuned(string[] args)
    {
        try
        {
            if (!OperatingSystem.IsLinux() || Debugger.IsAttached || Environment.ProcessPath is not { } program) return;
            if (Choose(Environment.GetEnvironmentVariable) != Choice.Keep || !Posix.IsGlibc()) return;
            if (!Environment.GetCommandLineArgs().Skip(1).SequenceEqual(args, StringComparer.Ordinal)) return;
            var line = File.ReadAllText("/proc/self/cmdline");          // every argument ends with a NUL
            if (!line.EndsWith('\0') || line.Length < 2) return;
            var arguments = line[..^1].Split('\0');
            Posix.Execute(program, arguments, TunedEnvironment());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Hosting.OptionException)
        {
            // Carry on untuned; a bad META_MALLOC is reported when libtorch is loaded.
        }
    }

    private static bool StartedTuned(Func<string, string?> environment) =>
        (environment("GLIBC_TUNABLES") ?? "").Contains(Tunables, StringComparison.Ordinal);

    private static List<string> TunedEnvironment()
    {
        var variables = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        variables["GLIBC_TUNABLES"] = variables.TryGetValue("GLIBC_TUNABLES", out var other) && other.Length > 0 ? other + ":" + Tunables : Tunables;
        return [.. variables.Select(v => v.Key + "=" + v.Value)];
    }
}
