using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Meta.Generators.Parsing;

/// <summary>
/// An experiment class with its Meta attributes read but not yet validated. It holds symbols and attribute data (for
/// diagnostics' locations), so it never enters the incremental pipeline: the generator turns it into an
/// <see cref="Model.ExperimentSpec"/> and the analyzer into diagnostics, through the same validation.
/// </summary>
internal sealed class ExperimentDeclaration
{
    private readonly Dictionary<string, AttributeData> _attributes;

    private ExperimentDeclaration(INamedTypeSymbol type, AttributeData experiment, Dictionary<string, AttributeData> attributes, bool isMalformed,
        List<ComponentUse> components, List<AttributeData> defaults)
    {
        Type = type;
        Experiment = experiment;
        _attributes = attributes;
        IsMalformed = isMalformed;
        Components = components;
        Defaults = defaults;
    }

    /// <summary>Every attribute that names a component (<c>[Tasks&lt;T&gt;]</c>, <c>[Sinusoid]</c>, <c>[Maml]</c>, …), in source order.</summary>
    public IReadOnlyList<ComponentUse> Components { get; }

    /// <summary>The experiment's <c>[Default(option, value)]</c> attributes.</summary>
    public IReadOnlyList<AttributeData> Defaults { get; }

    /// <summary>The components of one role.</summary>
    public IEnumerable<ComponentUse> ComponentsOf(ComponentRole role) => Components.Where(c => c.Role == role);

    /// <summary>The experiment class.</summary>
    public INamedTypeSymbol Type { get; }

    /// <summary>Its <c>[Experiment]</c> attribute.</summary>
    public AttributeData Experiment { get; }

    /// <summary>
    /// An attribute of the experiment does not bind (a compile error the compiler already reports), or the attribute is
    /// applied twice: nothing is generated and no Meta diagnostic is added.
    /// </summary>
    public bool IsMalformed { get; }

    /// <summary>The experiment's name, or null when the argument is null.</summary>
    public string? Name => Experiment.ConstructorArguments.FirstOrDefault().Value as string;

    /// <summary>The description, or null when unset.</summary>
    public string? Description => Named<string>(Experiment, "Description");

    /// <summary>The Meta attribute of the given metadata name (a <see cref="KnownTypeNames"/> constant), or null.</summary>
    public AttributeData? Attribute(string metadataName) => _attributes.TryGetValue(metadataName, out var a) ? a : null;

    /// <summary>The first constructor argument of an attribute, or null when the attribute is absent.</summary>
    public T? Argument<T>(string metadataName) where T : struct =>
        Attribute(metadataName) is { } a && a.ConstructorArguments.FirstOrDefault().Value is T value ? value : null;

    /// <summary>A named argument of an attribute, or null when the attribute is absent or the property unset.</summary>
    public T? Named<T>(string metadataName, string property) where T : struct =>
        Attribute(metadataName) is { } a && NamedValue(a, property) is T value ? value : null;

    /// <summary>Reads <paramref name="type"/>'s Meta attributes; <paramref name="experiment"/> is its <c>[Experiment]</c>.</summary>
    public static ExperimentDeclaration Read(INamedTypeSymbol type, AttributeData experiment, CancellationToken cancel)
    {
        var attributes = new Dictionary<string, AttributeData>();
        var components = new List<ComponentUse>();
        var defaults = new List<AttributeData>();
        var malformed = false;
        var experiments = 0;
        foreach (var attribute in type.GetAttributes())
        {
            cancel.ThrowIfCancellationRequested();
            if (ComponentUse.From(attribute) is { } use)
            {
                if (use.Type.TypeKind == TypeKind.Error || attribute.AttributeConstructor is null
                    || attribute.NamedArguments.Any(a => a.Value.Kind == TypedConstantKind.Error)) malformed = true;
                components.Add(use);
            }
            if (KnownName(attribute.AttributeClass) is not { } name) continue;
            if (name == KnownTypeNames.DefaultAttribute)
            {
                if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error)) malformed = true;
                defaults.Add(attribute);
                continue;
            }
            if (name == KnownTypeNames.ExperimentAttribute) experiments++;
            if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error)
                || attribute.NamedArguments.Any(a => a.Value.Kind == TypedConstantKind.Error))
            {
                malformed = true;
            }
            if (!attributes.ContainsKey(name)) attributes.Add(name, attribute);
            else malformed = true;
        }
        return new ExperimentDeclaration(type, experiment, attributes, malformed || experiments != 1, components, defaults);
    }

    /// <summary>The metadata name of a Meta attribute class (<c>Meta.XAttribute</c>), or null for any other class.</summary>
    private static string? KnownName(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null || attributeClass.TypeKind == TypeKind.Error) return null;
        var ns = attributeClass.ContainingNamespace;
        if (ns is null || ns.Name != "Meta" || ns.ContainingNamespace is not { IsGlobalNamespace: true }) return null;
        if (attributeClass.ContainingType is not null || attributeClass.IsGenericType) return null;
        return "Meta." + attributeClass.MetadataName;
    }

    private static T? Named<T>(AttributeData attribute, string property) where T : class => NamedValue(attribute, property) as T;

    private static object? NamedValue(AttributeData attribute, string property)
    {
        foreach (var pair in attribute.NamedArguments)
        {
            if (pair.Key == property) return pair.Value.Value;
        }
        return null;
    }

    /// <summary>Whether the named property is set explicitly on the attribute.</summary>
    public bool IsSet(string metadataName, string property) =>
        Attribute(metadataName) is { } a && a.NamedArguments.Any(p => p.Key == property);
}

/// <summary>Which part of an experiment a component is.</summary>
internal enum ComponentRole
{
    /// <summary>The task family (<c>[Tasks&lt;T&gt;]</c>).</summary>
    Tasks,
    /// <summary>The network (<c>[Network&lt;T&gt;]</c>).</summary>
    Network,
    /// <summary>The algorithm (<c>[Algorithm&lt;T&gt;]</c>).</summary>
    Algorithm,
}

/// <summary>An attribute of the experiment that names a component: the generic attribute itself or a short form deriving from it.</summary>
/// <param name="Role">Family, network or algorithm.</param>
/// <param name="Type">The component type <c>T</c>.</param>
/// <param name="Attribute">The attribute as applied (its named arguments set option defaults).</param>
internal sealed record ComponentUse(ComponentRole Role, INamedTypeSymbol Type, AttributeData Attribute)
{
    /// <summary>How the attribute reads in messages: <c>[Sinusoid]</c> or <c>[Tasks&lt;MyFamily&gt;]</c>.</summary>
    public string Display => Attribute.AttributeClass is { IsGenericType: true } generic
        ? "[" + Trim(generic.Name) + "<" + Type.Name + ">]"
        : "[" + Trim(Attribute.AttributeClass?.Name ?? "?") + "]";

    /// <summary>The component use of <paramref name="attribute"/>, or null when it names none.</summary>
    public static ComponentUse? From(AttributeData attribute)
    {
        for (var current = attribute.AttributeClass; current is not null; current = current.BaseType)
        {
            if (!current.IsGenericType || current.TypeArguments.Length != 1) continue;
            var definition = current.OriginalDefinition;
            if (definition.ContainingNamespace is not { Name: "Meta", ContainingNamespace.IsGlobalNamespace: true }) continue;
            ComponentRole? role = definition.MetadataName switch
            {
                "TasksAttribute`1" => ComponentRole.Tasks,
                "NetworkAttribute`1" => ComponentRole.Network,
                "AlgorithmAttribute`1" => ComponentRole.Algorithm,
                _ => null,
            };
            if (role is { } r && current.TypeArguments[0] is INamedTypeSymbol type) return new ComponentUse(r, type, attribute);
        }
        return null;
    }

    private static string Trim(string name) => name.EndsWith("Attribute", System.StringComparison.Ordinal) ? name.Substring(0, name.Length - 9) : name;
}
