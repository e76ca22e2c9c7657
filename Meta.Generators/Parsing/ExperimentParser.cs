using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Meta.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Meta.Generators.Parsing;

/// <summary>
/// Turns a class marked <c>[Experiment]</c> into an <see cref="ExperimentSpec"/>: reads its Meta attributes, validates
/// them with the analyzer's rules, and builds the option list. Returns null for anything invalid, so the generator emits
/// nothing and the analyzer's diagnostic is the only message the user sees.
/// </summary>
internal static partial class ExperimentParser
{
    /// <summary>The syntactic filter: classes and record classes (the attribute allows nothing else).</summary>
    public static bool IsCandidate(SyntaxNode node, CancellationToken cancel) =>
        node is ClassDeclarationSyntax or RecordDeclarationSyntax { ClassOrStructKeyword.RawKind: not (int)SyntaxKind.StructKeyword };

    /// <summary>The generator's transform: a spec for a valid experiment, null otherwise.</summary>
    public static ExperimentSpec? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancel)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.Length != 1) return null;
        var declaration = ExperimentDeclaration.Read(type, context.Attributes[0], cancel);
        if (declaration.IsMalformed || ExperimentValidation.Validate(declaration, context.SemanticModel.Compilation, cancel).Count > 0) return null;
        cancel.ThrowIfCancellationRequested();
        return Build(declaration, context.SemanticModel.Compilation, cancel);
    }

    /// <summary>Builds the spec of a declaration that passed validation; null when the runtime's types are missing.</summary>
    internal static ExperimentSpec? Build(ExperimentDeclaration declaration, Compilation compilation, CancellationToken cancel)
    {
        if (EnumChoices(compilation, KnownTypeNames.NonFinitePolicy) is not { } nonFiniteChoices
            || EnumChoices(compilation, KnownTypeNames.DistributedMode) is not { } distributedChoices
            || EnumChoices(compilation, KnownTypeNames.Parallelism) is not { } parallelismChoices
            || EnumChoices(compilation, KnownTypeNames.SamplerKind) is not { } samplerChoices
            || EnumNames(compilation, KnownTypeNames.SamplerKind) is not { } samplerNames
            || compilation.GetTypeByMetadataName(KnownTypeNames.WeightInit) is null
            || compilation.GetTypeByMetadataName(KnownTypeNames.MetaOptimizerKind) is null
            || compilation.GetTypeByMetadataName(KnownTypeNames.LrSchedule) is null) return null;
        cancel.ThrowIfCancellationRequested();

        if (ExperimentComponents.Resolve(declaration) is not { } components) return null;
        var sampler = declaration.Attribute(KnownTypeNames.SamplerAttribute) is { } s && s.ConstructorArguments.FirstOrDefault().Value is int kind
            && kind >= 0 && kind < samplerNames.Length
            ? new SamplerSpec(samplerNames[kind])
            : null;
        var plan = OptionPlan.Create(declaration, components, compilation);
        var choices = new EnumChoiceSet(nonFiniteChoices, distributedChoices, samplerChoices, parallelismChoices);
        var options = BuildOptions(declaration, plan, sampler, choices, out var requirements);
        var tasks = ExperimentComponents.Spec(components.Tasks, "Tasks");
        var algorithm = ExperimentComponents.Spec(components.Algorithm, "Algorithm");
        var description = declaration.Description ?? Sentence($"{algorithm.DisplayName} on {tasks.DisplayName}.");
        return new ExperimentSpec(Hierarchy(declaration.Type), declaration.Name!, description, tasks,
            ExperimentComponents.Spec(components.Network, "Network"), algorithm, options, sampler, requirements,
            declaration.Attribute(KnownTypeNames.ScratchCurveAttribute) is not null);
    }

    /// <summary>Capitalises the first letter: the fallback description is shown as a sentence in <c>--help</c>.</summary>
    /// <remarks>A word already cased on purpose (<c>iMAML</c>: a capital follows) is left alone.</remarks>
    private static string Sentence(string text) =>
        text.Length == 0 || (text.Length > 1 && char.IsUpper(text[1])) ? text : char.ToUpperInvariant(text[0]) + text.Substring(1);

    /// <summary>The namespace and the chain of (partial) types down to <paramref name="type"/>.</summary>
    internal static HierarchyInfo Hierarchy(INamedTypeSymbol type)
    {
        var types = new List<TypeDeclarationSpec>();
        for (var current = type; current is not null; current = current.ContainingType)
            types.Insert(0, new TypeDeclarationSpec(Keyword(current), current.Name));
        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        return new HierarchyInfo(ns, types.ToEquatableArray());
    }

    private static string Keyword(INamedTypeSymbol type) => (type.IsRecord, type.TypeKind) switch
    {
        (true, TypeKind.Struct) => "record struct",
        (true, _) => "record",
        (false, TypeKind.Struct) => "struct",
        (false, TypeKind.Interface) => "interface",
        _ => "class",
    };

    /// <summary>An enum's member names by value (values 0..n−1 in order); null when the enum is missing.</summary>
    private static ImmutableArray<string>? EnumNames(Compilation compilation, string metadataName)
    {
        if (compilation.GetTypeByMetadataName(metadataName) is not { TypeKind: TypeKind.Enum } type) return null;
        return [.. type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).OrderBy(f => System.Convert.ToInt64(f.ConstantValue, System.Globalization.CultureInfo.InvariantCulture)).Select(f => f.Name)];
    }

    /// <summary>An enum's members in declaration order, in kebab case (<c>PyTorch</c> → <c>py-torch</c>); null when the enum is missing.</summary>
    private static ImmutableArray<string>? EnumChoices(Compilation compilation, string metadataName)
    {
        if (compilation.GetTypeByMetadataName(metadataName) is not { TypeKind: TypeKind.Enum } type) return null;
        return [.. type.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).Select(f => OptionNames.Kebab(f.Name))];
    }
}
