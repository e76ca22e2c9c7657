namespace Meta.Generators.Model;

/// <summary>A type named by its fully qualified name, always starting with <c>global::</c>; never a symbol.</summary>
/// <param name="FullyQualifiedName">E.g. <c>global::Meta.Functional.WeightInit</c>.</param>
internal readonly record struct TypeRef(string FullyQualifiedName)
{
    /// <inheritdoc />
    public override string ToString() => FullyQualifiedName;
}
