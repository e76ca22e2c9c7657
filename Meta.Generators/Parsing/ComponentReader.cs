using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Meta.Generators.Parsing;

/// <summary>One <c>[Option]</c> property of a component, read from its symbol.</summary>
/// <param name="Property">The property.</param>
/// <param name="Type">Its option type, or null when the property's type is not supported.</param>
/// <param name="Option">The <c>[Option]</c> attribute.</param>
/// <param name="SamplerOnly">Marked <c>[SamplerOnly]</c>.</param>
internal sealed record ComponentOption(IPropertySymbol Property, Model.OptionType? Type, AttributeData Option, bool SamplerOnly)
{
    /// <summary>The key (property name).</summary>
    public string Key => Property.Name;

    /// <summary>The help text.</summary>
    public string Description => Option.ConstructorArguments.FirstOrDefault().Value as string ?? Key + ".";

    /// <summary>A named argument of <c>[Option]</c>, or null.</summary>
    public object? Named(string name) => Option.NamedArguments.FirstOrDefault(a => a.Key == name).Value.Value;

    /// <summary>Whether the property can be set from generated code (public set or init).</summary>
    public bool IsSettable => Property.SetMethod is { DeclaredAccessibility: Accessibility.Public } && !Property.IsStatic;
}

/// <summary>
/// What the generator knows of a component type (task family, network or algorithm definition), read from its symbol
/// alone, in the user's project or a referenced assembly alike: its contract, constructor, options, type-level defaults
/// and default network. No component is known by name.
/// </summary>
internal sealed class ComponentInfo
{
    private ComponentInfo(ComponentRole role, INamedTypeSymbol type)
    {
        Role = role;
        Type = type;
    }

    /// <summary>The role it plays.</summary>
    public ComponentRole Role { get; }

    /// <summary>The component type.</summary>
    public INamedTypeSymbol Type { get; }

    /// <summary>The option properties, base types' first, each type's in declaration order.</summary>
    public List<ComponentOption> Options { get; } = [];

    /// <summary>The <c>[Default]</c> attributes on the type and its base types (derived first).</summary>
    public List<AttributeData> Defaults { get; } = [];

    /// <summary>The network named by <c>[DefaultNetwork&lt;T&gt;]</c> (families), or null.</summary>
    public INamedTypeSymbol? DefaultNetwork { get; private set; }

    /// <summary><c>[DisplayName]</c>, or the type's name.</summary>
    public string DisplayName { get; private set; } = "";

    /// <summary>The contract of its role is implemented.</summary>
    public bool ImplementsContract { get; private set; }

    /// <summary>A concrete class with a public parameterless constructor.</summary>
    public bool IsConstructible { get; private set; }

    /// <summary>Implements <c>IDisposable</c>.</summary>
    public bool IsDisposable { get; private set; }

    /// <summary>Implements <c>IValidatedComponent</c>.</summary>
    public bool IsValidated { get; private set; }

    /// <summary>Implements <c>ILearnsInnerRates</c> (algorithms).</summary>
    public bool LearnsRates { get; private set; }

    /// <summary>Implements <c>ISampledTaskFamily</c> (families a <c>[Sampler]</c> can draw from).</summary>
    public bool IsSampled { get; private set; }

    /// <summary>The contract's metadata name for a role.</summary>
    public static string Contract(ComponentRole role) => role switch
    {
        ComponentRole.Tasks => KnownTypeNames.TaskFamily,
        ComponentRole.Network => KnownTypeNames.NetworkDefinition,
        _ => KnownTypeNames.AlgorithmDefinition,
    };

    /// <summary>Reads <paramref name="type"/> as a component of <paramref name="role"/>.</summary>
    public static ComponentInfo Read(ComponentRole role, INamedTypeSymbol type)
    {
        var info = new ComponentInfo(role, type);
        var interfaces = type.AllInterfaces.Select(i => MetadataName(i)).ToImmutableHashSet();
        info.ImplementsContract = interfaces.Contains(Contract(role));
        info.IsDisposable = interfaces.Contains("System.IDisposable");
        info.IsValidated = interfaces.Contains(KnownTypeNames.ValidatedComponent);
        info.LearnsRates = interfaces.Contains(KnownTypeNames.LearnsInnerRates);
        info.IsSampled = interfaces.Contains(KnownTypeNames.SampledTaskFamily);
        info.IsConstructible = type.TypeKind == TypeKind.Class && !type.IsAbstract && !type.IsStatic && type.TypeParameters.Length == 0
            && type.InstanceConstructors.Any(c => c.Parameters.Length == 0 && c.DeclaredAccessibility == Accessibility.Public);
        info.DisplayName = type.Name;

        var chain = new List<INamedTypeSymbol>();
        for (var current = type; current is not null && current.SpecialType != SpecialType.System_Object; current = current.BaseType)
            chain.Add(current);
        var displayFound = false;
        foreach (var current in chain)
        {
            foreach (var attribute in current.GetAttributes())
            {
                var name = attribute.AttributeClass is { } c ? MetadataName(c.OriginalDefinition) : "";
                if (name == KnownTypeNames.DefaultAttribute) info.Defaults.Add(attribute);
                else if (name == KnownTypeNames.DefaultNetworkAttribute && info.DefaultNetwork is null
                    && attribute.AttributeClass!.TypeArguments.FirstOrDefault() is INamedTypeSymbol network) info.DefaultNetwork = network;
                else if (name == "System.ComponentModel.DisplayNameAttribute" && !displayFound
                    && attribute.ConstructorArguments.FirstOrDefault().Value is string display)
                {
                    info.DisplayName = display;
                    displayFound = true;
                }
            }
        }

        var seen = new HashSet<string>();
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            foreach (var property in chain[i].GetMembers().OfType<IPropertySymbol>())
            {
                if (FindOption(property) is not { } option || !seen.Add(property.Name)) continue;
                var samplerOnly = property.GetAttributes().Any(a => a.AttributeClass is { } c && MetadataName(c) == KnownTypeNames.SamplerOnlyAttribute);
                info.Options.Add(new ComponentOption(property, OptionTypeOf(property.Type), option, samplerOnly));
            }
        }
        return info;
    }

    /// <summary>The <c>[Option]</c> of a property or of the property it overrides.</summary>
    private static AttributeData? FindOption(IPropertySymbol property)
    {
        for (var current = property; current is not null; current = current.OverriddenProperty)
        {
            foreach (var attribute in current.GetAttributes())
            {
                if (attribute.AttributeClass is { } c && MetadataName(c) == KnownTypeNames.OptionAttribute) return attribute;
            }
        }
        return null;
    }

    /// <summary>The option type of a property type; null when unsupported.</summary>
    public static Model.OptionType? OptionTypeOf(ITypeSymbol type) => type switch
    {
        { SpecialType: SpecialType.System_Int32 } => Model.OptionType.Int32,
        { SpecialType: SpecialType.System_Int64 } => Model.OptionType.Int64,
        { SpecialType: SpecialType.System_Double } => Model.OptionType.Double,
        { SpecialType: SpecialType.System_Boolean } => Model.OptionType.Boolean,
        { SpecialType: SpecialType.System_String } => Model.OptionType.String,
        { TypeKind: TypeKind.Enum } => Model.OptionType.Enum,
        IArrayTypeSymbol { Rank: 1, ElementType.SpecialType: SpecialType.System_Int32 } => Model.OptionType.Int32List,
        _ => null,
    };

    /// <summary><c>Namespace.Name</c> with the generic arity suffix, as <c>GetTypeByMetadataName</c> takes it.</summary>
    public static string MetadataName(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() + "." : "";
        return type.ContainingType is { } outer ? MetadataName(outer) + "+" + type.MetadataName : ns + type.MetadataName;
    }
}
