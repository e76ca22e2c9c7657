using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace Meta.Tests.Packaging;

/// <summary>
/// Meta used from outside the repository, the way README's "Use Meta in your own project" says: pack Meta and
/// Meta.Templates into a local folder feed, install the template into a private template hive, create a project in a
/// temporary folder, restore it from that feed plus the machine's usual NuGet sources, build, run a short experiment over the template's own task family and network,
/// and run the created project's own snapshot test.
/// </summary>
/// <remarks>
/// The packages get a version of their own (<c>0.0.0-e2e.*</c>), so the restore cannot pick up an older Meta from the
/// global packages folder, and that version's folder is deleted afterwards; the template is never installed into the
/// developer's own hive.
/// </remarks>
[Collection(PackagingCollection.Name)]
public class PackageEndToEndTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public void A_project_made_from_the_template_builds_runs_and_passes_its_test_from_a_local_feed()
    {
        var repository = RepositoryRoot();
        var configuration = typeof(PackageEndToEndTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var version = "0.0.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "." + Environment.ProcessId;
        var root = Directory.CreateTempSubdirectory("meta-e2e-").FullName;
        var feed = Path.Combine(root, "feed");
        var hive = Path.Combine(root, "template-hive");
        var work = Path.Combine(root, "work");
        var runs = Path.Combine(root, "runs");
        Directory.CreateDirectory(work);
        var log = new StringBuilder();
        var clock = Stopwatch.StartNew();
        try
        {
            // 1. Pack: the runtime from this test run's build (same configuration), the template package as is.
            Dotnet(log, repository, "pack", "Meta.Runtime/Meta.Runtime.csproj", "--no-build", "-c", configuration, "-o", feed, "-p:Version=" + version);
            Dotnet(log, repository, "pack", "templates/Meta.Templates/Meta.Templates.csproj", "-c", configuration, "-o", feed, "-p:Version=" + version);
            AssertMetaPackage(Path.Combine(feed, $"Meta.{version}.nupkg"));

            // 2. Install the template into a private hive and create a project from it.
            Dotnet(log, work, "new", "install", Path.Combine(feed, $"Meta.Templates.{version}.nupkg"), "--debug:custom-hive", hive);
            Dotnet(log, work, "new", "meta-experiment", "-n", "MyStudy", "--debug:custom-hive", hive);
            var study = Path.Combine(work, "MyStudy");
            Assert.True(File.Exists(Path.Combine(study, "MyStudy", "Program.cs")), "the template did not create MyStudy/Program.cs");
            Assert.Contains($"Include=\"Meta\" Version=\"{version}\"", File.ReadAllText(Path.Combine(study, "MyStudy", "MyStudy.csproj")), StringComparison.Ordinal);

            // 3. The local feed added to the usual sources (TorchSharp and the rest come from those).
            File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="meta-e2e" value="{feed}" />
                  </packageSources>
                </configuration>
                """);

            // 4. Build both projects (the test project references the program), run a short experiment, run the test.
            Dotnet(log, study, "build", "MyStudy.Tests", "-nodeReuse:false");
            var output = Dotnet(log, study, "run", "--project", "MyStudy", "--no-build", "--",
                "parabola-study", "--iterations", "20", "--test-tasks", "50", "--output", runs);
            var summaries = Directory.Exists(runs) ? Directory.GetFiles(runs, "summary.md", SearchOption.AllDirectories) : [];
            Assert.True(summaries.Length == 1, "the run wrote no run folder with summary.md under " + runs + ":\n" + output);
            var summary = File.ReadAllText(summaries[0]);
            Assert.Contains("parabola-study", summary, StringComparison.Ordinal);
            Assert.Contains("| meta-learned |", summary, StringComparison.Ordinal);

            var received = Path.Combine(study, "MyStudy.Tests", "ParabolaStudy.received.txt");
            try
            {
                Dotnet(log, study, "test", "MyStudy.Tests", "--no-build");
            }
            catch (Xunit.Sdk.XunitException) when (File.Exists(received))
            {
                throw new Xunit.Sdk.XunitException(
                    "The template's snapshot test fails as created: the generator's option listing changed. If this listing is " +
                    "right, make it templates/Meta.Templates/content/meta-experiment/MyStudy.Tests/ParabolaStudy.approved.txt:\n" +
                    File.ReadAllText(received) + "\n" + log);
            }
        }
        finally
        {
            TryDelete(root);
            TryDelete(GlobalPackageFolder(version));
        }
        // Printed for the record: the time this whole round trip takes.
        Console.WriteLine($"package end-to-end test: {clock.Elapsed.TotalSeconds:0} s\n{log}");
    }

    /// <summary>The runtime in lib/, the generator in analyzers/dotnet/cs, the TorchSharp step in build/ and buildTransitive/.</summary>
    private static void AssertMetaPackage(string path)
    {
        using var package = ZipFile.OpenRead(path);
        var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[]
                 {
                     "lib/net10.0/Meta.Runtime.dll", "lib/net10.0/Meta.Runtime.xml", "analyzers/dotnet/cs/Meta.Generators.dll",
                     "build/Meta.targets", "build/WeakenGlibcxxRequirement.cs", "buildTransitive/Meta.targets", "README.md",
                 })
            Assert.True(entries.Contains(expected), $"{Path.GetFileName(path)} lacks {expected}; it has: {string.Join(", ", entries)}");
        Assert.DoesNotContain(entries, e => e.Contains("Meta.Generators", StringComparison.Ordinal) && e.StartsWith("lib/", StringComparison.Ordinal));

        using var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.NotEqual("Package Description", Field("description"));
        Assert.Equal("MIT", Field("license"));
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Contains("TorchSharp-cpu", dependencies);
        Assert.DoesNotContain("Meta.Generators", dependencies);
    }

    /// <summary>Runs dotnet with <paramref name="args"/> in <paramref name="directory"/>; fails with its output unless it exits 0.</summary>
    private static string Dotnet(StringBuilder log, string directory, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        // The test host's own MSBuild and test-platform settings must not leak into the child builds.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                                                            || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No appsettings.json watcher in the run: on a machine shared by many processes the user's inotify instances
        // (128 by default) can be used up, and the host then refuses to start.
        info.Environment["DOTNET_hostBuilder__reloadConfigOnChange"] = "false";

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(StepTimeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        var text = output.Result + error.Result;
        var command = "dotnet " + string.Join(' ', args);
        log.Append(System.Globalization.CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,6:0.0} s  {command}\n");
        if (!process.HasExited || process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException(
                $"'{command}' in {directory} " + (process.HasExited ? $"exited {process.ExitCode}" : $"timed out after {StepTimeout}") +
                ":\n" + Tail(text, 60) + "\nsteps so far:\n" + log);
        return text;
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Meta.sln"))) return directory.FullName;
        throw new InvalidOperationException("Meta.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Where restore extracted Meta <paramref name="version"/> (NUGET_PACKAGES or ~/.nuget/packages).</summary>
    private static string GlobalPackageFolder(string version)
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "meta", version);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is not a test failure.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
