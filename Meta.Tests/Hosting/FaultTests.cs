using Meta.Checkpoints;
using Meta.Hosting;

namespace Meta.Tests.Hosting;

/// <summary>The error boundary's mapping of failures to exit codes and lines, and the run folder's atomic creation.</summary>
public sealed class FaultTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-faults-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Failures_map_to_an_exit_code_and_one_line()
    {
        Assert.Equal(2, Faults.Describe(new OptionException("--x: bad"), null).Code);
        Assert.Equal(2, Faults.Describe(new CheckpointException("corrupt"), null).Code);
        Assert.Equal(2, Faults.Describe(new Meta.Tasks.Images.DatasetException("no data"), null).Code);
        Assert.Equal(1, Faults.Describe(new NumericalFaultException("iteration 3: NaN"), null).Code);

        var full = Faults.Describe(new IOException("No space left on device : '/x/y.ckpt.tmp'", 28), null);
        Assert.Equal(1, full.Code);
        Assert.StartsWith("the disk is full", full.Line, StringComparison.Ordinal);

        var wrapped = Faults.Describe(new AggregateException(new InvalidOperationException("line one\nline two")), "/run/error.log");
        Assert.Equal(1, wrapped.Code);
        Assert.Equal("the experiment failed: InvalidOperationException: line one; line two (details in /run/error.log)", wrapped.Line);
    }

    [Fact]
    public void Two_runs_started_in_the_same_second_get_their_own_folders()
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var folders = Enumerable.Range(0, 8).AsParallel().Select(_ => RunFolder.Create(_root, "sine-maml", now).Path).ToList();
        Assert.Equal(8, folders.Distinct().Count());
        Assert.All(folders, f => Assert.True(Directory.Exists(f)));
    }
}
