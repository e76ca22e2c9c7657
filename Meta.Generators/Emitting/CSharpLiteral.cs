using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace Meta.Generators.Emitting;

/// <summary>C# literals of attribute values: invariant culture and round-trip, so generated defaults equal what was written.</summary>
internal static class CSharpLiteral
{
    /// <summary><c>25</c>.</summary>
    public static string Int32(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>1L</c>.</summary>
    public static string Int64(long value) => value.ToString(CultureInfo.InvariantCulture) + "L";

    /// <summary><c>true</c> / <c>false</c>.</summary>
    public static string Boolean(bool value) => value ? "true" : "false";

    /// <summary>
    /// <c>0.01</c>, <c>5.0</c>, <c>1E-05</c>: the round-trip form, with <c>.0</c> added to whole numbers so the literal is a
    /// double (and <c>-0.0</c> keeps its sign); NaN and infinities become the <c>double</c> constants.
    /// </summary>
    public static string Double(double value)
    {
        if (double.IsNaN(value)) return "double.NaN";
        if (double.IsPositiveInfinity(value)) return "double.PositiveInfinity";
        if (double.IsNegativeInfinity(value)) return "double.NegativeInfinity";
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.IndexOfAny(['.', 'E', 'e']) < 0 ? text + ".0" : text;
    }

    /// <summary>A quoted, escaped string literal.</summary>
    public static string String(string value) => SymbolDisplay.FormatLiteral(value, quote: true);
}
