using System.Linq;

namespace Meta.Generators.Model;

/// <summary>
/// Where a type is declared: its namespace (empty for the global namespace) and the chain of types from the outermost
/// containing type down to the type itself. Enough to reopen every declaration as <c>partial</c>.
/// </summary>
/// <param name="Namespace">The containing namespace, e.g. <c>Meta.Experiments</c>; empty for the global namespace.</param>
/// <param name="Types">The outermost containing type first, the type itself last.</param>
internal sealed record HierarchyInfo(string Namespace, EquatableArray<TypeDeclarationSpec> Types)
{
    /// <summary>The type's own declaration.</summary>
    public TypeDeclarationSpec Type => Types[Types.Count - 1];

    /// <summary>The fully qualified name with the <c>global::</c> prefix, e.g. <c>global::Meta.Experiments.SineMaml</c>.</summary>
    public string FullyQualifiedName =>
        "global::" + string.Join(".", (Namespace.Length == 0 ? [] : new[] { Namespace }).Concat(Types.Select(t => t.Name)));

    /// <summary>The source's hint name: <c>{Namespace}.{Outer}.{Type}.g.cs</c>.</summary>
    public string HintName =>
        string.Join(".", (Namespace.Length == 0 ? [] : new[] { Namespace }).Concat(Types.Select(t => t.Name))) + ".g.cs";
}

/// <summary>One type declaration of a <see cref="HierarchyInfo"/>.</summary>
/// <param name="Keyword">The declaration keyword(s): <c>class</c>, <c>record</c>, <c>struct</c>, <c>record struct</c> or <c>interface</c>.</param>
/// <param name="Name">The type's name (experiments and their containing types are never generic).</param>
internal sealed record TypeDeclarationSpec(string Keyword, string Name);
