namespace Meta.Tests.Hosting;

/// <summary>
/// A native library that does not load is one line naming the cause and the fix, exit code 1, nothing written; not
/// TorchSharp's loader trace and an unhandled-exception abort (exit 134).
/// </summary>
public class NativeLoadTests
{
    private const string DlopenGlibcxx =
        "Unable to load shared library '/app/runtimes/linux-x64/native/libLibTorchSharp.so' or one of its dependencies. " +
        "In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider " +
        "setting the LD_DEBUG environment variable: \n" +
        "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/runtimes/linux-x64/native/libLibTorchSharp.so)\n";

    [Fact]
    public void A_missing_libstdcxx_version_names_the_version_and_the_rebuild()
    {
        var line = TorchRuntime.DescribeLoadFailure("/app/runtimes/linux-x64/native/libLibTorchSharp.so", DlopenGlibcxx);

        Assert.DoesNotContain('\n', line);
        Assert.Contains("needs GLIBCXX_3.4.32", line, StringComparison.Ordinal);
        Assert.Contains("rebuild with dotnet build", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_load_failure_quotes_the_loader_s_own_line()
    {
        var line = TorchRuntime.DescribeLoadFailure("/x/libLibTorchSharp.so",
            "Unable to load shared library '/x/libLibTorchSharp.so'. Consider LD_DEBUG: \n/x/libLibTorchSharp.so: invalid ELF header\n");

        Assert.DoesNotContain('\n', line);
        Assert.Contains("(/x/libLibTorchSharp.so: invalid ELF header)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_program_whose_native_library_does_not_load_prints_one_line_and_exits_1()
    {
        if (!OperatingSystem.IsLinux()) return; // the probe reads runtimes/linux-x64; other platforms load their own way
        // The built program in a folder of its own: its entry files copied (the host resolves the app's real folder),
        // everything else linked, and libLibTorchSharp.so replaced by a file that is not a library.
        var app = Directory.CreateTempSubdirectory("meta-native-").FullName;
        var output = Path.Combine(app, "runs");
        try
        {
            foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(AppContext.BaseDirectory, file);
                var target = Path.Combine(app, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (relative.StartsWith("Meta.Experiments.", StringComparison.Ordinal)) File.Copy(file, target);
                else if (relative.EndsWith("libLibTorchSharp.so", StringComparison.Ordinal)) File.WriteAllText(target, "not an ELF file");
                else File.CreateSymbolicLink(target, file);
            }

            var result = ExperimentProcess.Run(Path.Combine(app, "Meta.Experiments.dll"),
                ["sine-maml", "--iterations", "5", "--output", output]);

            Assert.Equal(1, result.ExitCode);
            var error = result.Error.Trim();
            Assert.StartsWith("error: TorchSharp's native library ", error, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error);
            Assert.Contains("could not be loaded", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(app, "cpu")), "TorchSharp's fallback loader ran");
            Assert.False(Directory.Exists(output), "a run folder was written");
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }
}
