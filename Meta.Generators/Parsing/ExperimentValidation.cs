using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Meta.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Meta.Generators.Parsing;

/// <summary>
/// The rules of the diagnostics catalogue, applied to one <see cref="ExperimentDeclaration"/>. The generator emits nothing
/// for a declaration with issues; the analyzer reports them. (META002, duplicate names, spans experiments and lives in
/// the analyzer alone.)
/// </summary>
internal static class ExperimentValidation
{
    /// <summary>Every issue of <paramref name="declaration"/>, declarations first, then attribute values.</summary>
    public static List<ExperimentIssue> Validate(ExperimentDeclaration declaration, Compilation compilation, CancellationToken cancel)
    {
        var issues = new List<ExperimentIssue>();
        if (declaration.IsMalformed) return issues;
        CheckDeclaration(declaration.Type, issues, cancel);
        CheckName(declaration, issues);
        CheckComponents(declaration, compilation, issues);
        CheckTraining(declaration, issues);
        CheckSampler(declaration, issues);
        CheckMetaLr(declaration, issues);
        CheckScratchCurve(declaration, issues);
        return issues;
    }

    /// <summary>Whether <paramref name="name"/> matches <c>^[a-z0-9]+(-[a-z0-9]+)*$</c>.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return false;
        var previous = '-';
        foreach (var c in name!)
        {
            var word = c is >= 'a' and <= 'z' or >= '0' and <= '9';
            if (!word && !(c == '-' && previous != '-')) return false;
            previous = c;
        }
        return previous != '-';
    }

    /// <summary>Whether <paramref name="rate"/> is a usable learning rate: finite and above 0.</summary>
    public static bool IsValidLearningRate(double rate) => rate > 0 && !double.IsInfinity(rate) && !double.IsNaN(rate);

    /// <summary>Why a range is not valid, or null when it is.</summary>
    public static string? RangeProblem(double min, double max, bool nonNegative)
    {
        if (double.IsNaN(min) || double.IsNaN(max) || double.IsInfinity(min) || double.IsInfinity(max)) return "both bounds must be finite";
        if (!(min < max)) return "the lower bound must be below the upper bound";
        if (nonNegative && min < 0) return "an amplitude cannot be negative";
        return null;
    }

    private static void CheckDeclaration(INamedTypeSymbol type, List<ExperimentIssue> issues, CancellationToken cancel)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancel) is TypeDeclarationSyntax syntax && !syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
                issues.Add(new(Descriptors.ExperimentMustBePartial, ExperimentIssue.At(syntax.Identifier), type.Name));
        }

        var generic = false;
        for (var current = type; current is not null; current = current.ContainingType)
        {
            generic |= current.TypeParameters.Length > 0;
            if (Inaccessibility(current) is { } why)
                issues.Add(new(Descriptors.ExperimentMustBeAccessible, ExperimentIssue.AtName(type), type.Name, current.Name, why));
            if (ReferenceEquals(current, type)) continue;
            foreach (var reference in current.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancel) is TypeDeclarationSyntax syntax && !syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
                    issues.Add(new(Descriptors.ContainingTypeMustBePartial, ExperimentIssue.At(syntax.Identifier), current.Name, type.Name));
            }
        }
        if (generic) issues.Add(new(Descriptors.ExperimentMustNotBeGeneric, ExperimentIssue.AtName(type), type.Name));
    }

    private static string? Inaccessibility(INamedTypeSymbol type)
    {
        if (type.IsFileLocal) return "file-local";
        return type.DeclaredAccessibility switch
        {
            Accessibility.Private => "private",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => null,
        };
    }

    private static void CheckName(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        if (!IsValidName(declaration.Name))
            issues.Add(new(Descriptors.InvalidExperimentName, ExperimentIssue.AtArgument(declaration.Experiment, 0), declaration.Name ?? ""));
    }

    // The components: exactly one family and algorithm, at most one network (or the family's default), each a concrete
    // class implementing its contract, with supported option properties; then the option plan: no key twice, every
    // attribute-set default names an option and passes its checks.
    private static void CheckComponents(ExperimentDeclaration declaration, Compilation compilation, List<ExperimentIssue> issues)
    {
        var name = declaration.Name ?? declaration.Type.Name;
        var families = declaration.ComponentsOf(ComponentRole.Tasks).ToList();
        var algorithms = declaration.ComponentsOf(ComponentRole.Algorithm).ToList();
        var networks = declaration.ComponentsOf(ComponentRole.Network).ToList();
        if (families.Count == 0) issues.Add(new(Descriptors.MissingTaskFamily, ExperimentIssue.AtName(declaration.Type), name));
        if (families.Count > 1) issues.Add(new(Descriptors.SeveralTaskFamilies, ExperimentIssue.AtName(declaration.Type), name, string.Join(", ", families.Select(f => f.Display))));
        if (algorithms.Count == 0) issues.Add(new(Descriptors.MissingAlgorithm, ExperimentIssue.AtName(declaration.Type), name));
        if (algorithms.Count > 1) issues.Add(new(Descriptors.SeveralAlgorithms, ExperimentIssue.AtName(declaration.Type), name, string.Join(", ", algorithms.Select(a => a.Display))));
        if (networks.Count > 1) issues.Add(new(Descriptors.SeveralNetworks, ExperimentIssue.AtName(declaration.Type), name, string.Join(", ", networks.Select(n => n.Display))));

        var valid = true;
        foreach (var use in declaration.Components)
            valid &= CheckComponent(ComponentInfo.Read(use.Role, use.Type), use.Display, ExperimentIssue.AtAttribute(use.Attribute), issues);
        if (families.Count != 1 || algorithms.Count != 1 || networks.Count > 1 || !valid) return;

        var family = ComponentInfo.Read(ComponentRole.Tasks, families[0].Type);
        if (networks.Count == 0)
        {
            if (family.DefaultNetwork is null)
            {
                issues.Add(new(Descriptors.MissingNetwork, ExperimentIssue.AtAttribute(families[0].Attribute), name, family.Type.Name));
                return;
            }
            if (!CheckComponent(ComponentInfo.Read(ComponentRole.Network, family.DefaultNetwork), $"[DefaultNetwork<{family.DefaultNetwork.Name}>] of '{family.Type.Name}'",
                ExperimentIssue.AtAttribute(families[0].Attribute), issues)) return;
        }
        if (declaration.Attribute(KnownTypeNames.SamplerAttribute) is { } sampler && !family.IsSampled)
            issues.Add(new(Descriptors.SamplerNeedsContinuousFamily, ExperimentIssue.AtAttribute(sampler), name, family.Type.Name));

        if (ExperimentComponents.Resolve(declaration) is not { } components) return;
        var plan = OptionPlan.Create(declaration, components, compilation);
        foreach (var (key, first, second) in plan.Collisions)
            issues.Add(new(Descriptors.DuplicateOption, ExperimentIssue.AtName(declaration.Type), name, key, first, second));
        foreach (var (key, source) in plan.UnknownDefaults)
            issues.Add(new(Descriptors.UnknownOption, source.Location, AttributeDisplay(source.Attribute), key, name, string.Join(", ", plan.Options.Select(o => o.Key))));
        foreach (var option in plan.Options)
        {
            if (option.Default is not { } source || IsLoopAttribute(source.Attribute) || plan.Problem(option) is not { } problem) continue;
            issues.Add(new(Descriptors.InvalidOptionDefault, source.Location, AttributeDisplay(source.Attribute), option.Key, Display(source.Value), problem));
        }
    }

    private static bool CheckComponent(ComponentInfo component, string display, Func<CancellationToken, Location> where, List<ExperimentIssue> issues)
    {
        var ok = true;
        if (!component.ImplementsContract)
        {
            issues.Add(new(Descriptors.ComponentContract, where, display, component.Type.Name, ComponentInfo.Contract(component.Role)));
            ok = false;
        }
        if (!component.IsConstructible)
        {
            issues.Add(new(Descriptors.ComponentConstructor, where, display, component.Type.Name));
            ok = false;
        }
        foreach (var option in component.Options)
        {
            var why = option.Type is null ? $"is of type '{option.Property.Type.ToDisplayString()}'"
                : !option.IsSettable ? "has no public setter"
                : null;
            if (why is null) continue;
            var location = option.Property.Locations.FirstOrDefault(l => l.IsInSource);
            issues.Add(new(Descriptors.UnsupportedOption, location is null ? where : _ => location, component.Type.Name, option.Key, why));
            ok = false;
        }
        return ok;
    }

    // The loop attributes have their own diagnostics (META101–META103).
    private static bool IsLoopAttribute(AttributeData attribute) => attribute.AttributeClass?.ToDisplayString() is
        KnownTypeNames.InnerStepsAttribute or KnownTypeNames.InnerLrAttribute or KnownTypeNames.MetaLrAttribute or KnownTypeNames.IterationsAttribute
        or KnownTypeNames.MetaBatchAttribute or KnownTypeNames.ShotsAttribute or KnownTypeNames.SeedAttribute or KnownTypeNames.InitAttribute;

    private static string AttributeDisplay(AttributeData attribute) => attribute.AttributeClass is { } c
        ? "[" + (c.Name.EndsWith("Attribute", StringComparison.Ordinal) ? c.Name.Substring(0, c.Name.Length - 9) : c.Name)
            + (c.IsGenericType ? "<" + string.Join(", ", c.TypeArguments.Select(t => t.Name)) + ">" : "") + "]"
        : "an attribute";

    private static string Display(TypedConstant value) => value.Kind == TypedConstantKind.Array
        ? "[" + string.Join(", ", value.Values.Select(Display)) + "]"
        : value.Value switch
        {
            double d => ExperimentIssue.Display(d),
            string text => "\"" + text + "\"",
            null => "null",
            var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
        };

    // [MetaLr]'s optimiser settings; the same checks run on the command line.
    private static void CheckMetaLr(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        void Check(string attribute, string display, string property, double? value, Func<double, bool> valid, string requirement)
        {
            if (value is { } v && !valid(v))
                issues.Add(new(Descriptors.InvalidAlgorithmSetting, ExperimentIssue.AtNamedArgument(declaration.Attribute(attribute)!, property),
                    display, property, ExperimentIssue.Display(v), requirement));
        }
        double? Number(string attribute, string property) => declaration.Named<double>(attribute, property);

        const string MetaLr = KnownTypeNames.MetaLrAttribute;
        var rate = declaration.Argument<double>(MetaLr);
        Check(MetaLr, "MetaLr", "Minimum", Number(MetaLr, "Minimum"), v => v >= 0 && (rate is not { } r || v < r || !IsValidLearningRate(r)),
            "it must be at least 0 and below the rate");
        Check(MetaLr, "MetaLr", "LearnedRateScale", Number(MetaLr, "LearnedRateScale"), IsValidLearningRate, "it must be a finite number above 0");
    }

    private static void CheckScratchCurve(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        const string A = KnownTypeNames.ScratchCurveAttribute;
        if (declaration.Attribute(A) is not { } curve) return;
        foreach (var property in new[] { "Steps", "Window" })
        {
            if (declaration.Named<int>(A, property) is < 1 and var count)
                issues.Add(new(Descriptors.CountTooSmall, ExperimentIssue.AtNamedArgument(curve, property), "ScratchCurve's " + property, ExperimentIssue.Display(count), "1"));
        }
        if (declaration.Named<double>(A, "LearningRate") is { } rate && !IsValidLearningRate(rate))
            issues.Add(new(Descriptors.LearningRateNotPositive, ExperimentIssue.AtNamedArgument(curve, "LearningRate"), "ScratchCurve's LearningRate", ExperimentIssue.Display(rate)));
    }

    private static void CheckTraining(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        if (declaration.Argument<int>(KnownTypeNames.InnerStepsAttribute) is < 1 and var steps)
            issues.Add(new(Descriptors.InnerStepsTooSmall, ArgumentOf(declaration, KnownTypeNames.InnerStepsAttribute), ExperimentIssue.Display(steps)));

        CheckRate(declaration, KnownTypeNames.InnerLrAttribute, "InnerLr", issues);
        CheckRate(declaration, KnownTypeNames.MetaLrAttribute, "MetaLr", issues);
        CheckCount(declaration, KnownTypeNames.IterationsAttribute, "Iterations", issues);
        CheckCount(declaration, KnownTypeNames.MetaBatchAttribute, "MetaBatch", issues);
        CheckCount(declaration, KnownTypeNames.ShotsAttribute, "Shots", issues);

        // Query = 0 is documented as "the same as the support", so only a negative Query is wrong.
        if (declaration.Named<int>(KnownTypeNames.ShotsAttribute, "Query") is < 0 and var query)
        {
            var shots = declaration.Attribute(KnownTypeNames.ShotsAttribute)!;
            issues.Add(new(Descriptors.CountTooSmall, ExperimentIssue.AtNamedArgument(shots, "Query"), "Shots' Query", ExperimentIssue.Display(query), "0"));
        }
    }

    private static void CheckRate(ExperimentDeclaration declaration, string attribute, string display, List<ExperimentIssue> issues)
    {
        if (declaration.Argument<double>(attribute) is { } rate && !IsValidLearningRate(rate))
            issues.Add(new(Descriptors.LearningRateNotPositive, ArgumentOf(declaration, attribute), display, ExperimentIssue.Display(rate)));
    }

    private static void CheckCount(ExperimentDeclaration declaration, string attribute, string display, List<ExperimentIssue> issues)
    {
        if (declaration.Argument<int>(attribute) is < 1 and var count)
            issues.Add(new(Descriptors.CountTooSmall, ArgumentOf(declaration, attribute), display, ExperimentIssue.Display(count), "1"));
    }

    private static void CheckSampler(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        if (declaration.Attribute(KnownTypeNames.SamplerAttribute) is not { } sampler) return;
        void Report(string property, double value, string requirement) =>
            issues.Add(new(Descriptors.InvalidSamplerSetting, ExperimentIssue.AtNamedArgument(sampler, property), property, ExperimentIssue.Display(value), requirement));
        double? Get(string property) => declaration.Named<double>(KnownTypeNames.SamplerAttribute, property);

        foreach (var property in new[] { "EpsilonStart", "EpsilonFinal" })
        {
            if (Get(property) is { } e && !(e >= 0 && e <= 1)) Report(property, e, "it must lie in [0, 1]");
        }
        if (Get("EpsilonStart") is var start && Get("EpsilonFinal") is var final && (start ?? 1.0) < (final ?? 0.1) && (start is not null || final is not null))
            Report(final is not null ? "EpsilonFinal" : "EpsilonStart", final ?? start!.Value, "the final ε must not be above the start ε");
        if (Get("EpsilonDecayRate") is { } rate && !(rate >= 0 && !double.IsInfinity(rate))) Report("EpsilonDecayRate", rate, "it must be a finite number ≥ 0");
        foreach (var property in new[] { "InitialLoss", "InitialChange" })
        {
            if (Get(property) is { } v && !IsValidLearningRate(v)) Report(property, v, "it must be a finite number above 0");
        }
    }

    private static Func<CancellationToken, Location> ArgumentOf(ExperimentDeclaration declaration, string attribute) =>
        ExperimentIssue.AtArgument(declaration.Attribute(attribute)!, 0);
}

