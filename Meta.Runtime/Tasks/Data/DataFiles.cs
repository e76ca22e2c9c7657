using System.Text;

namespace Meta.Tasks.Data;

/// <summary>Helpers shared by the task families over users' own files: where a path points and which items are held out.</summary>
public static class DataFiles
{
    /// <summary>
    /// The path a data option names: as given when it exists (absolute, or relative to the working directory); otherwise,
    /// for a relative path, the same path next to the program (where an experiment's sample data is copied), if it exists
    /// there; otherwise as given (the caller reports it missing).
    /// </summary>
    public static string Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Path.IsPathRooted(path) || File.Exists(path) || Directory.Exists(path)) return path;
        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) || Directory.Exists(beside) ? beside : path;
    }

    /// <summary>
    /// Which of <paramref name="names"/> are held out for the final evaluation: round(<paramref name="fraction"/> · n)
    /// of them, at least 1 and at most n − 1, chosen by a stable 64-bit hash of each name (FNV-1a over its UTF-8
    /// bytes; ties by ordinal name). The choice depends only on the names — not on the run seed, the order of the
    /// names or the platform — so every run and every algorithm over the same data meets the same held-out items, and
    /// adding an item moves at most one other across the split.
    /// </summary>
    /// <returns>One flag per name, true when held out.</returns>
    public static bool[] HeldOut(IReadOnlyList<string> names, double fraction)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count < 2) throw new ArgumentException("a split needs at least two items", nameof(names));
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "a fraction in (0, 1)");
        var count = HeldOutCount(names.Count, fraction);
        var order = Enumerable.Range(0, names.Count)
            .OrderBy(i => StableHash(names[i]))
            .ThenBy(i => names[i], StringComparer.Ordinal)
            .Take(count);
        var held = new bool[names.Count];
        foreach (var i in order) held[i] = true;
        return held;
    }

    /// <summary>How many of <paramref name="items"/> (≥ 2) a fraction holds out: round(f · n), at least 1, at most n − 1.</summary>
    public static int HeldOutCount(int items, double fraction) =>
        Math.Clamp((int)Math.Round(fraction * items, MidpointRounding.AwayFromZero), 1, items - 1);

    /// <summary>FNV-1a, 64 bits, over the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static ulong StableHash(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
