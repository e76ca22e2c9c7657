using System.Runtime.CompilerServices;
using System.Text;
using Meta.Hosting;
using Xunit;

namespace MyStudy.Tests;

/// <summary>
/// A snapshot of what the source generator made of ParabolaStudy's attributes and its parts' [Option] properties: its name, algorithm and every option with
/// its flag, kind and default. A change to the attributes (or a new Meta version) shows up here as a diff; when the new
/// listing is right, replace ParabolaStudy.approved.txt with the ParabolaStudy.received.txt the failing run wrote.
/// </summary>
public class StudySnapshotTests
{
    [Fact]
    public void Options_match_the_approved_listing()
    {
        var listing = Listing(ParabolaStudy.Descriptor, new ParabolaStudy.Options());
        var directory = SourceDirectory();
        var approved = Path.Combine(directory, "ParabolaStudy.approved.txt");
        var received = Path.Combine(directory, "ParabolaStudy.received.txt");
        var expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings("\n") : "";
        if (listing == expected)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, listing);
        Assert.Equal(expected, listing);
    }

    private static string Listing(ExperimentDescriptor experiment, IExperimentOptions defaults)
    {
        var values = defaults.Resolved().ToDictionary(p => p.Key, p => p.Value);
        var text = new StringBuilder();
        text.Append(experiment.Name).Append(" (").Append(experiment.Algorithm).Append("): ").Append(experiment.Description).Append('\n');
        foreach (var option in experiment.Options)
        {
            text.Append(option.Flag).Append(' ').Append(option.Kind);
            if (option.Choices.Count > 0) text.Append(" [").Append(string.Join('|', option.Choices)).Append(']');
            if (values.TryGetValue(option.Key, out var value)) text.Append(" = ").Append(value);
            text.Append(": ").Append(option.Description).Append('\n');
        }
        return text.ToString();
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
