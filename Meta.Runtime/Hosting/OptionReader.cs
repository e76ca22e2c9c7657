using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Meta.Hosting;

/// <summary>
/// Reads an experiment's options from its configuration section (command line, appsettings.json and environment
/// variables all land there). Parses invariantly and reports a bad value or an unknown key as an
/// <see cref="OptionException"/> that names the command-line flag and the configuration key.
/// </summary>
public sealed class OptionReader
{
    private readonly IConfiguration _section;
    private readonly Dictionary<string, OptionDescriptor> _byKey;

    /// <summary>Creates a reader and rejects keys in <paramref name="section"/> that no option declares.</summary>
    public OptionReader(IConfiguration section, IReadOnlyList<OptionDescriptor> options)
    {
        _section = section;
        _byKey = options.ToDictionary(o => o.Key, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!_byKey.ContainsKey(child.Key))
            {
                var known = string.Join(", ", options.Select(o => o.Key));
                throw new OptionException($"unknown configuration key '{child.Path}'; accepted keys: {known}");
            }
        }
    }

    /// <summary>Reads a whole number, or returns <paramref name="current"/> when the key is absent.</summary>
    public int Integer(string key, int current) =>
        Read(key, current, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number");

    /// <summary>Reads a 64-bit whole number, or returns <paramref name="current"/> when the key is absent.</summary>
    public long Long(string key, long current) =>
        Read(key, current, s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number");

    /// <summary>Reads a finite real number, or returns <paramref name="current"/> when the key is absent.</summary>
    public double Number(string key, double current) =>
        Read(key, current, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null, "a number such as 0.001");

    /// <summary>Reads true or false, or returns <paramref name="current"/> when the key is absent.</summary>
    public bool Boolean(string key, bool current) =>
        Read(key, current, s => bool.TryParse(s, out var v) ? v : null, "true or false");

    /// <summary>Reads whole numbers separated by commas (e.g. <c>64,64,64</c>), or returns <paramref name="current"/>.</summary>
    public int[] IntegerList(string key, int[] current)
    {
        var raw = _section[key];
        if (raw is null) return current;
        var parts = raw.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
                throw OptionException.Rejected(Describe(key), raw, "whole numbers separated by commas, such as 40,40");
        }
        return values;
    }

    /// <summary>Reads text, or returns <paramref name="current"/> when the key is absent.</summary>
    public string Text(string key, string current) => _section[key] is { } s ? s : current;

    /// <summary>Reads one of an enum's names (case-insensitive; '-' ignored), or returns <paramref name="current"/>.</summary>
    public TEnum Choice<TEnum>(string key, TEnum current) where TEnum : struct, Enum =>
        Read(key, current,
            s => Enum.TryParse<TEnum>(s.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var v) && Enum.IsDefined(v) ? v : null,
            "one of " + string.Join(", ", Enum.GetNames<TEnum>().Select(OptionNames.Kebab)));

    private T Read<T>(string key, T current, Func<string, T?> parse, string accepted) where T : struct
    {
        var raw = _section[key];
        if (raw is null) return current;
        return parse(raw.Trim()) ?? throw OptionException.Rejected(Describe(key), raw, accepted);
    }

    private string Describe(string key) => _byKey.TryGetValue(key, out var o) ? o.Flag : key;
}

/// <summary>Checks used by generated <c>Validate()</c> methods.</summary>
public static class OptionChecks
{
    /// <summary>Requires <paramref name="value"/> ≥ <paramref name="minimum"/>.</summary>
    public static void AtLeast(int value, int minimum, string name)
    {
        if (value < minimum) throw OptionException.Rejected("--" + name, Format(value), $"a whole number ≥ {minimum}");
    }

    /// <summary>Requires <paramref name="value"/> ≥ <paramref name="minimum"/> (64-bit).</summary>
    public static void AtLeast(long value, long minimum, string name)
    {
        if (value < minimum) throw OptionException.Rejected("--" + name, Format(value), $"a whole number ≥ {minimum}");
    }

    /// <summary>Requires a finite <paramref name="value"/> &gt; 0.</summary>
    public static void Positive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value)) throw OptionException.Rejected("--" + name, Format(value), "a number > 0");
    }

    /// <summary>Requires a finite <paramref name="value"/> ≥ 0.</summary>
    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value)) throw OptionException.Rejected("--" + name, Format(value), "a number ≥ 0");
    }

    /// <summary>Requires <paramref name="low"/> &lt; <paramref name="high"/>.</summary>
    public static void Ordered(double low, double high, string lowName, string highName)
    {
        if (!(low < high))
            throw new OptionException($"--{lowName} ({Format(low)}) must be below --{highName} ({Format(high)})");
    }

    /// <summary>Runs a runtime type's own validation (which throws <see cref="ArgumentException"/>) as an option check.</summary>
    public static void Valid(Action validate)
    {
        try { validate(); }
        catch (ArgumentException e) { throw new OptionException(e.Message); }
    }

    /// <summary>Requires <paramref name="holds"/>; otherwise the one-line <paramref name="message"/> (naming the options involved).</summary>
    public static void Requires(bool holds, string message)
    {
        if (!holds) throw new OptionException(message);
    }

    /// <summary>Requires non-empty text.</summary>
    public static void NotEmpty(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value)) throw OptionException.Rejected("--" + name, value, "a non-empty value");
    }

    /// <summary>Requires every element of <paramref name="values"/> to be at least <paramref name="minimum"/>, and at least one element.</summary>
    public static void AtLeast(int[] values, int minimum, string name)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0 || values.Any(v => v < minimum))
            throw OptionException.Rejected("--" + name, string.Join(",", values), $"one or more whole numbers, each at least {minimum.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>Formats a value as configuration stores it (invariant, round-trip).</summary>
    public static string Format(object value) => value switch
    {
        int[] list => string.Join(",", list.Select(v => v.ToString(CultureInfo.InvariantCulture))),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => OptionNames.Kebab(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Naming helpers shared by the command line and help text.</summary>
public static class OptionNames
{
    /// <summary><c>ImportanceDelta</c> → <c>importance-delta</c>.</summary>
    public static string Kebab(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]))) sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
