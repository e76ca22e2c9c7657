using System.Diagnostics;

namespace Meta.Tests.Runtime;

/// <summary>
/// The PyTorch references of <c>Meta.Benchmarks conv4</c> (Meta.Benchmarks/reference/conv4_maml.py): the per-task
/// autograd.grad loop and the task-batched grouped-convolution version must compute the same meta-gradient, so that
/// the benchmark compares two ways of writing one computation. Needs Debian's python3-torch (skipped visibly without).
/// </summary>
public sealed class Conv4ReferenceTests
{
    [SkippableFact]
    public void LoopAndBatchedReferencesAgree()
    {
        OptionalParts.Require(HasPyTorch(), "/usr/bin/python3 cannot import torch", "python3-torch");
        var script = Path.Combine(RepositoryRoot(), "Meta.Benchmarks", "reference", "conv4_maml.py");
        var info = new ProcessStartInfo("/usr/bin/python3", [script, "--check"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"conv4_maml.py --check exited with {process.ExitCode}: {output} {error.Result}");
        Assert.Contains("largest relative difference", output, StringComparison.Ordinal);
    }

    private static bool HasPyTorch()
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import torch"]) { RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Meta.sln"))) return directory.FullName;
        throw new InvalidOperationException("Meta.sln not found above " + AppContext.BaseDirectory);
    }
}
