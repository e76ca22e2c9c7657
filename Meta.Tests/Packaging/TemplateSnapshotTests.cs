using System.Reflection;
using System.Runtime.Loader;
using Meta.Tests.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Meta.Tests.Packaging;

/// <summary>
/// The template's snapshot test must pass as created. The end-to-end test proves it through packages (minutes); this
/// checks the same in memory (a second): the template's experiment, task family and network and its test file, compiled with this repository's
/// generator, give the listing in the template's ParabolaStudy.approved.txt.
/// </summary>
public class TemplateSnapshotTests
{
    [Fact]
    public void The_template_s_approved_listing_is_what_the_generator_makes_of_its_experiment()
    {
        var content = Path.Combine(RepositoryRoot(), "templates", "Meta.Templates", "content", "meta-experiment");
        var approved = Path.Combine(content, "MyStudy.Tests", "ParabolaStudy.approved.txt");
        string[] sources =
        [
            .. Directory.GetFiles(Path.Combine(content, "MyStudy"), "*.cs").Where(f => Path.GetFileName(f) != "Program.cs"),
            Path.Combine(content, "MyStudy.Tests", "StudySnapshotTests.cs"),
        ];
        var implicitUsings = CSharpSyntaxTree.ParseText(
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq;",
            GeneratorHarness.ParseOptions);
        var compilation = GeneratorHarness.Compile([.. sources.Select(File.ReadAllText)]).AddSyntaxTrees(implicitUsings);
        var generated = GeneratorHarness.Generate(compilation).Compilation;

        using var image = new MemoryStream();
        var emitted = generated.Emit(image);
        Assert.True(emitted.Success, GeneratorHarness.Format(emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        image.Position = 0;
        var context = new AssemblyLoadContext("template-snapshot", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(image);
            var experiment = assembly.GetType("MyStudy.ParabolaStudy", throwOnError: true)!;
            var descriptor = experiment.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)!.GetValue(null);
            var options = Activator.CreateInstance(experiment.GetNestedType("Options")!);
            var listing = (string)assembly.GetType("MyStudy.Tests.StudySnapshotTests", throwOnError: true)!
                .GetMethod("Listing", BindingFlags.NonPublic | BindingFlags.Static)!
                .Invoke(null, [descriptor, options])!;

            var expected = File.ReadAllText(approved).ReplaceLineEndings("\n");
            if (listing != expected) File.WriteAllText(Path.ChangeExtension(approved, null).Replace(".approved", ".received", StringComparison.Ordinal) + ".txt", listing);
            Assert.True(listing == expected,
                $"The template's test would fail as created: {approved} is not what the generator makes of ParabolaStudy " +
                "(a ParabolaStudy.received.txt beside it has the new listing; if it is right, make it the approved file):\n" + listing);
        }
        finally
        {
            context.Unload();
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Meta.sln"))) return directory.FullName;
        throw new InvalidOperationException("Meta.sln not found above " + AppContext.BaseDirectory);
    }
}
