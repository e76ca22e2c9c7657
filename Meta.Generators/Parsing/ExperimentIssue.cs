using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Meta.Generators.Parsing;

/// <summary>
/// One problem validation found. The location is computed only when asked for: the generator just needs to know that
/// there are issues (it then emits nothing), only the analyzer reports them.
/// </summary>
internal sealed class ExperimentIssue(DiagnosticDescriptor descriptor, Func<CancellationToken, Location> locate, params string[] arguments)
{
    /// <summary>The catalogue entry.</summary>
    public DiagnosticDescriptor Descriptor { get; } = descriptor;

    /// <summary>The message arguments, as display strings.</summary>
    public string[] Arguments { get; } = arguments;

    /// <summary>The diagnostic at the issue's location.</summary>
    public Diagnostic ToDiagnostic(CancellationToken cancel) =>
        Diagnostic.Create(Descriptor, locate(cancel), Arguments.Cast<object>().ToArray());

    /// <summary>The location of a type's name (its first declaration).</summary>
    public static Func<CancellationToken, Location> AtName(ISymbol symbol) =>
        _ => symbol.Locations.FirstOrDefault() ?? Location.None;

    /// <summary>The location of a node's syntax.</summary>
    public static Func<CancellationToken, Location> At(SyntaxToken token) => _ => token.GetLocation();

    /// <summary>The location of the <paramref name="index"/>-th constructor argument of an attribute, else the attribute.</summary>
    public static Func<CancellationToken, Location> AtArgument(AttributeData attribute, int index) => cancel =>
    {
        if (Syntax(attribute, cancel) is not { } syntax) return Location.None;
        var positional = syntax.ArgumentList?.Arguments.Where(a => a.NameEquals is null).ToList();
        return positional is not null && index < positional.Count ? positional[index].GetLocation() : syntax.GetLocation();
    };

    /// <summary>The location of a named argument (<c>Property = value</c>) of an attribute, else the attribute.</summary>
    public static Func<CancellationToken, Location> AtNamedArgument(AttributeData attribute, string property) => cancel =>
    {
        if (Syntax(attribute, cancel) is not { } syntax) return Location.None;
        var named = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == property);
        return named?.GetLocation() ?? syntax.GetLocation();
    };

    /// <summary>The location of an attribute application.</summary>
    public static Func<CancellationToken, Location> AtAttribute(AttributeData attribute) => cancel =>
        Syntax(attribute, cancel)?.GetLocation() ?? Location.None;

    /// <summary>Formats a value as the diagnostic shows it: invariant, round-trip.</summary>
    public static string Display(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc cref="Display(double)"/>
    public static string Display(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static AttributeSyntax? Syntax(AttributeData attribute, CancellationToken cancel) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(cancel) as AttributeSyntax;
}
