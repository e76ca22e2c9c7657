using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Meta.Hosting;

/// <summary>
/// Checks the configuration sources (appsettings.json, environment variables, the command line) before anything reads
/// them: a file that cannot be parsed, an <c>Experiments</c> entry that names no experiment or is not a section, and the
/// host's own settings (<c>Telemetry:Console</c>, the OTLP endpoint) are each one <see cref="OptionException"/>.
/// </summary>
internal static class ConfigurationSources
{
    /// <summary>Maps an exception thrown while loading the sources to one line naming the source.</summary>
    public static OptionException Rejected(Exception e)
    {
        // The JSON provider says "Failed to load configuration from file 'x'." and puts the parser's reason inside.
        var reasons = new List<string>();
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            var line = Faults.OneLine(inner.Message).TrimEnd('.');
            if (line.Length > 0 && !reasons.Contains(line)) reasons.Add(line);
        }
        return new OptionException($"configuration: {string.Join(": ", reasons)}; fix or remove it (appsettings.json must be one JSON object with unique keys)");
    }

    /// <summary>Rejects <c>Experiments</c> entries that are not sections of a known experiment.</summary>
    public static void Check(IConfiguration configuration, IReadOnlyList<ExperimentDescriptor> experiments)
    {
        var root = configuration.GetSection("Experiments");
        if (!string.IsNullOrEmpty(root.Value))
            throw new OptionException($"configuration 'Experiments' is the value '{root.Value}'; expected a section with one entry per experiment");
        var accepted = string.Join(", ", experiments.Select(e => e.Name));
        foreach (var child in root.GetChildren())
        {
            if (!experiments.Any(e => string.Equals(e.Name, child.Key, StringComparison.OrdinalIgnoreCase)))
                throw new OptionException($"configuration names an unknown experiment '{child.Key}' ({child.Path}); accepted: {accepted}");
            if (!string.IsNullOrEmpty(child.Value))
                throw new OptionException($"configuration '{child.Path}' is the value '{child.Value}'; expected a section of options such as {child.Path}:Iterations");
        }
    }

    /// <summary>Reads true/false at <paramref name="key"/> (false when absent).</summary>
    public static bool Boolean(IConfiguration configuration, string key)
    {
        var raw = configuration[key];
        if (string.IsNullOrWhiteSpace(raw)) return false;
        return bool.TryParse(raw.Trim(), out var value) ? value
            : throw OptionException.Rejected($"configuration {key}", raw, "true or false");
    }

    /// <summary>Whether an OTLP endpoint is set at <paramref name="key"/>; it must be an absolute http(s) URL.</summary>
    public static bool Endpoint(IConfiguration configuration, string key)
    {
        var raw = configuration[key];
        if (string.IsNullOrWhiteSpace(raw)) return false;
        if (Uri.TryCreate(raw.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0)
            return true;
        throw OptionException.Rejected(key, raw, "an absolute http:// or https:// URL such as http://localhost:4317");
    }

    /// <summary>Formats a byte count for messages.</summary>
    public static string Bytes(double bytes) => bytes switch
    {
        >= 1e12 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e12:0.#} TB"),
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.#} GB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:0} MB"),
    };
}
