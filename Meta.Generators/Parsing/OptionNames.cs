using System.Text;

namespace Meta.Generators.Parsing;

/// <summary>Command-line names of options, the same way the runtime's <c>Meta.Hosting.OptionNames</c> spells them.</summary>
internal static class OptionNames
{
    /// <summary><c>ImportanceDelta</c> → <c>importance-delta</c>: a hyphen before each capital that follows a lower-case letter or digit.</summary>
    public static string Kebab(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]))) builder.Append('-');
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }
}
