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

    /// <summary>
    /// Creates a reader and rejects keys in <paramref name="section"/> that no option declares, and keys that hold a
    /// section, an array, an empty object or null instead of one value.
    /// </summary>
    public OptionReader(IConfiguration section, IReadOnlyList<OptionDescriptor> options)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        _section = section;
        _byKey = options.ToDictionary(o => o.Key, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (!_byKey.TryGetValue(child.Key, out var option))
            {
                var known = string.Join(", ", options.Select(o => o.Key));
                throw new OptionException($"unknown configuration key '{child.Path}'; accepted keys: {known}");
            }
            // appsettings.json's [1, 2], {"a": 1}, {} and null, or an environment variable Experiments__x__Key__y, land
            // here as a key without a value (or with children): none of them is a value for one option.
            if (child.Value is null || child.GetChildren().Any())
                throw new OptionException($"configuration key '{child.Path}' ({option.Flag}) holds {(child.GetChildren().Any() ? "a section or an array" : "no value (null, {} or [])")}; expected one value: {Accepted(option)}");
        }
    }

    private static string Accepted(OptionDescriptor option) => option.Kind switch
    {
        OptionKind.Integer => "a whole number",
        OptionKind.Number => "a number such as 0.001",
        OptionKind.Boolean => "true or false",
        OptionKind.Choice => "one of " + string.Join(", ", option.Choices),
        _ => "text",
    };

    /// <summary>Reads a whole number, or returns <paramref name="current"/> when the key is absent.</summary>
    public int Integer(string key, int current) =>
        Read(key, current, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number");

    /// <summary>Reads a 64-bit whole number, or returns <paramref name="current"/> when the key is absent.</summary>
    public long Long(string key, long current) =>
        Read(key, current, s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number");

    /// <summary>
    /// Reads a real number within float32's finite range (the tensors that use it are float32), or returns
    /// <paramref name="current"/> when the key is absent.
    /// </summary>
    public double Number(string key, double current) =>
        Read(key, current,
            s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && Math.Abs(v) <= float.MaxValue ? v : null,
            "a number such as 0.001, of magnitude at most 3.4e38 (float32)");

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

    /// <summary>
    /// Reads one of an enum's names (case-insensitive; '-' ignored), or returns <paramref name="current"/>. Names only:
    /// not the enum's numbers (<c>1</c>, <c>-1</c>) nor comma lists (<c>adam,sgd</c>), which <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/> would take.
    /// </summary>
    public TEnum Choice<TEnum>(string key, TEnum current) where TEnum : struct, Enum =>
        Read(key, current,
            s =>
            {
                var name = s.Replace("-", "", StringComparison.Ordinal);
                var match = Enum.GetNames<TEnum>().FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
                return match is null ? null : Enum.Parse<TEnum>(match);
            },
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

    /// <summary>Requires a finite <paramref name="value"/> &gt; 0 that stays above 0 as a float32.</summary>
    public static void Positive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value)) throw OptionException.Rejected("--" + name, Format(value), "a number > 0");
        if (!((float)value > 0)) throw OptionException.Rejected("--" + name, Format(value), "a number > 0 that float32 can hold (at least 1.4e-45)");
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
