using System.Reflection;
using Meta.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Meta.Tests.Generators;

/// <summary>The pipeline's model is plain data: no Roslyn objects, value equality all the way down.</summary>
public sealed class ModelTests
{
    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxToken), typeof(SyntaxTree), typeof(Location), typeof(Compilation),
        typeof(SemanticModel), typeof(AttributeData), typeof(TypedConstant), typeof(IOperation),
    ];

    [Fact]
    public void ModelHoldsNoSymbolsSyntaxLocationsOrCompilations()
    {
        var modelTypes = typeof(ExperimentSpec).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ExperimentSpec).Namespace && !IsStaticClass(t) && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)))
            .ToList();
        Assert.Contains(typeof(ExperimentSpec), modelTypes);

        var seen = new HashSet<Type>();
        foreach (var type in modelTypes) Walk(type, type.Name, seen);
    }

    [Fact]
    public void ModelRecordsAreSealedOrValueTypes()
    {
        var records = typeof(ExperimentSpec).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ExperimentSpec).Namespace && t.GetMethod("<Clone>$") is not null);
        Assert.NotEmpty(records);
        Assert.All(records, t => Assert.True(t.IsSealed, $"{t.Name} should be sealed"));
    }

    [Fact]
    public void EquatableArraysCompareByElements()
    {
        var a = new[] { "x", "y" }.ToEquatableArray();
        var b = new List<string> { "x", "y" }.ToEquatableArray();
        Assert.True(a == b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.Equals((object)b));
    }

    [Fact]
    public void EquatableArraysDifferByOrderLengthAndContent()
    {
        var a = new[] { "x", "y" }.ToEquatableArray();
        Assert.NotEqual(a, new[] { "y", "x" }.ToEquatableArray());
        Assert.NotEqual(a, new[] { "x" }.ToEquatableArray());
        Assert.NotEqual(a, new[] { "x", "z" }.ToEquatableArray());
        Assert.True(a != new[] { "x", "y", "z" }.ToEquatableArray());
        Assert.False(a.Equals("x, y"));
    }

    [Fact]
    public void DefaultEquatableArrayIsEmpty()
    {
        EquatableArray<string> none = default;
        Assert.True(none.Count == 0);
        Assert.Empty(none);
        Assert.Equal(EquatableArray<string>.Empty, Array.Empty<string>().ToEquatableArray());
        Assert.Equal(none.GetHashCode(), Array.Empty<string>().ToEquatableArray().GetHashCode());
        Assert.Empty(none.AsImmutableArray());
    }

    [Fact]
    public void RecordsHoldingEquatableArraysAreEqualByValue()
    {
        static HierarchyInfo Make() => new("Lab", new[] { new TypeDeclarationSpec("class", "Outer"), new TypeDeclarationSpec("record", "Inner") }.ToEquatableArray());
        Assert.Equal(Make(), Make());
        Assert.Equal(Make().GetHashCode(), Make().GetHashCode());
        Assert.NotEqual(Make(), Make() with { Namespace = "Other" });
        Assert.Equal("global::Lab.Outer.Inner", Make().FullyQualifiedName);
        Assert.Equal("Lab.Outer.Inner.g.cs", Make().HintName);
        Assert.Equal("Outer.Inner.g.cs", (Make() with { Namespace = "" }).HintName);
    }

    private static void Walk(Type type, string path, HashSet<Type> seen)
    {
        if (!seen.Add(type)) return;
        Assert.False(Forbidden.Any(f => f.IsAssignableFrom(type)), $"{path} is a {type.Name}: models must hold plain values");
        if (type.IsPrimitive || type.IsEnum || type == typeof(string)) return;

        if (type.IsArray) Walk(type.GetElementType()!, path + "[]", seen);
        foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : []) Walk(argument, $"{path}<{argument.Name}>", seen);
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            Assert.False(field.FieldType == typeof(object), $"{path}.{field.Name} is an object: models must be typed");
            Walk(field.FieldType, $"{path}.{field.Name}", seen);
        }
    }

    private static bool IsStaticClass(Type type) => type.IsAbstract && type.IsSealed;
}
