using Meta.Hosting;

namespace Meta.Tests.Hosting;

/// <summary>
/// A Meta program restarts itself with glibc's malloc set to keep freed memory (NativeHeap) and its summary says how the
/// heap was set up; the environment can turn that off (META_MALLOC=system) or configure malloc itself (tunables, a
/// preloaded allocator), and a bad META_MALLOC is one line naming what is accepted, exit code 2.
/// </summary>
[Collection(TorchCollection.Name)]
public class AllocatorTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void By_default_the_heap_keeps_freed_memory()
    {
        Assert.Equal(NativeHeap.Choice.Keep, NativeHeap.Choose(Environment()));
        Assert.Equal(NativeHeap.Choice.Keep, NativeHeap.Choose(Environment(("META_MALLOC", "keep"), ("GLIBC_TUNABLES", "glibc.cpu.x86_avx=0"))));
    }

    [Fact]
    public void META_MALLOC_system_keeps_the_C_library_s_defaults()
    {
        Assert.Equal(NativeHeap.Choice.System, NativeHeap.Choose(Environment(("META_MALLOC", "system"))));
    }

    [Theory]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576")]
    [InlineData("MALLOC_ARENA_MAX", "2")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0")]
    [InlineData("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")]
    public void Malloc_settings_in_the_environment_are_left_alone(string name, string value)
    {
        Assert.Equal(NativeHeap.Choice.UserSettings, NativeHeap.Choose(Environment((name, value))));
    }

    [Fact]
    public void A_bad_META_MALLOC_names_the_accepted_values()
    {
        var e = Assert.Throws<OptionException>(() => NativeHeap.Choose(Environment(("META_MALLOC", "jemalloc"))));

        Assert.Equal("META_MALLOC (environment): 'jemalloc' is not accepted; expected keep (the default) or system", e.Message);
    }

    [Fact]
    public void A_program_restarts_itself_with_the_heap_kept_and_says_so_in_its_summary()
    {
        if (!OperatingSystem.IsLinux()) return; // glibc's tunables
        Assert.Contains("native heap: glibc malloc keeping freed memory (started with GLIBC_TUNABLES=" + NativeHeap.Tunables + ")",
            SummaryOfAShortRun(environment: null), StringComparison.Ordinal);
    }

    [Fact]
    public void META_MALLOC_system_runs_the_program_on_the_C_library_s_defaults()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.Contains("native heap: malloc with the C library's defaults (META_MALLOC=system)",
            SummaryOfAShortRun(new Dictionary<string, string> { ["META_MALLOC"] = "system" }), StringComparison.Ordinal);
    }

    // summary.md of a three-iteration sine-maml run of the built program (a process of its own) in that environment.
    private static string SummaryOfAShortRun(IDictionary<string, string>? environment)
    {
        var output = Directory.CreateTempSubdirectory("meta-heap-").FullName;
        try
        {
            var result = ExperimentProcess.Run(["sine-maml", "--iterations", "3", "--eval-tasks", "5", "--output", output], environment);

            Assert.Equal(0, result.ExitCode);
            return File.ReadAllText(Directory.GetFiles(output, "summary.md", SearchOption.AllDirectories).Single());
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void A_program_with_a_bad_META_MALLOC_exits_2_with_one_line()
    {
        var result = ExperimentProcess.Run(["sine-maml", "--iterations", "3"], new Dictionary<string, string> { ["META_MALLOC"] = "jemalloc" });

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: META_MALLOC (environment): 'jemalloc' is not accepted; expected keep (the default) or system", result.Error.Trim());
    }
}
