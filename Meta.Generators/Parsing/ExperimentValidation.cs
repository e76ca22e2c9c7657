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
    public static List<ExperimentIssue> Validate(ExperimentDeclaration declaration, CancellationToken cancel)
    {
        var issues = new List<ExperimentIssue>();
        if (declaration.IsMalformed) return issues;
        CheckDeclaration(declaration.Type, issues, cancel);
        CheckName(declaration, issues);
        CheckFamilyAndAlgorithm(declaration, issues);
        CheckTraining(declaration, issues);
        CheckSinusoid(declaration, issues);
        CheckSampler(declaration, issues);
        CheckAlgorithmSettings(declaration, issues);
        CheckImageFamily(declaration, issues);
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

    private static void CheckFamilyAndAlgorithm(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        var name = declaration.Name ?? declaration.Type.Name;
        var families = ExperimentParser.Families.Where(f => declaration.Attribute(f.MetadataName) is not null).ToList();
        if (families.Count == 0)
            issues.Add(new(Descriptors.MissingTaskFamily, ExperimentIssue.AtName(declaration.Type), name));
        if (families.Count > 1)
            issues.Add(new(Descriptors.SeveralTaskFamilies, ExperimentIssue.AtName(declaration.Type), name,
                string.Join(", ", families.Select(f => "[" + f.Display + "]"))));
        var algorithms = ExperimentParser.Algorithms.Where(a => declaration.Attribute(a.MetadataName) is not null).ToList();
        if (algorithms.Count == 0)
            issues.Add(new(Descriptors.MissingAlgorithm, ExperimentIssue.AtName(declaration.Type), name));
        if (algorithms.Count > 1)
            issues.Add(new(Descriptors.SeveralAlgorithms, ExperimentIssue.AtName(declaration.Type), name,
                string.Join(", ", algorithms.Select(a => "[" + a.Display + "]"))));
        if (families.Count == 1 && families[0].Kind is not (Model.TaskFamilyKind.Sinusoid or Model.TaskFamilyKind.Sinusoid3D)
            && declaration.Attribute(KnownTypeNames.SamplerAttribute) is { } sampler)
            issues.Add(new(Descriptors.SamplerNeedsContinuousFamily, ExperimentIssue.AtAttribute(sampler), name, families[0].Display));
    }

    // Knobs of the algorithm attributes and [MetaLr]'s optimiser settings; the same checks run on the command line.
    private static void CheckAlgorithmSettings(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        void Check(string attribute, string display, string property, double? value, Func<double, bool> valid, string requirement)
        {
            if (value is { } v && !valid(v))
                issues.Add(new(Descriptors.InvalidAlgorithmSetting, ExperimentIssue.AtNamedArgument(declaration.Attribute(attribute)!, property),
                    display, property, ExperimentIssue.Display(v), requirement));
        }
        double? Number(string attribute, string property) => declaration.Named<double>(attribute, property);
        double? Whole(string attribute, string property) => declaration.Named<int>(attribute, property);

        const string Imaml = KnownTypeNames.ImamlAttribute, Reptile = KnownTypeNames.ReptileAttribute, Plus = KnownTypeNames.MamlPlusPlusAttribute;
        Check(Imaml, "Imaml", "Lambda", Number(Imaml, "Lambda"), IsValidLearningRate, "λ must be a finite number above 0");
        Check(Imaml, "Imaml", "CgSteps", Whole(Imaml, "CgSteps"), v => v >= 1, "at least one conjugate-gradient step is needed");
        Check(Reptile, "Reptile", "InnerBatch", Whole(Reptile, "InnerBatch"), v => v >= 1 || v == -1, "it must be at least 1, or -1 for the whole support set");
        Check(Reptile, "Reptile", "ClipNorm", Number(Reptile, "ClipNorm"), v => v >= 0 && !double.IsInfinity(v), "it must be a finite number ≥ 0 (0: no clipping)");
        Check(Reptile, "Reptile", "AdamBeta1", Number(Reptile, "AdamBeta1"), v => v >= 0 && v < 1, "it must lie in [0, 1)");
        Check(Plus, "MamlPlusPlus", "MultiStepLossEpochs", Whole(Plus, "MultiStepLossEpochs"), v => v >= 1, "it must be at least 1");
        Check(Plus, "MamlPlusPlus", "IterationsPerEpoch", Whole(Plus, "IterationsPerEpoch"), v => v >= 1, "it must be at least 1");
        Check(Plus, "MamlPlusPlus", "FirstOrderEpochs", Whole(Plus, "FirstOrderEpochs"), v => v >= 0, "it must be at least 0");
        Check(Plus, "MamlPlusPlus", "GradientClamp", Number(Plus, "GradientClamp"), v => v >= 0 && !double.IsInfinity(v), "it must be a finite number ≥ 0 (0: no clamping)");

        const string MetaLr = KnownTypeNames.MetaLrAttribute;
        var rate = declaration.Argument<double>(MetaLr);
        Check(MetaLr, "MetaLr", "Minimum", Number(MetaLr, "Minimum"), v => v >= 0 && (rate is not { } r || v < r || !IsValidLearningRate(r)),
            "it must be at least 0 and below the rate");
        Check(MetaLr, "MetaLr", "LearnedRateScale", Number(MetaLr, "LearnedRateScale"), IsValidLearningRate, "it must be a finite number above 0");

        if (declaration.Attribute(Plus) is { } plus && (declaration.Named<bool>(Plus, "MultiStepLoss") ?? true)
            && (declaration.Argument<int>(KnownTypeNames.InnerStepsAttribute) ?? 1) is var steps and >= 1 and < 2)
        {
            var where = declaration.Attribute(KnownTypeNames.InnerStepsAttribute) is { } inner ? ExperimentIssue.AtArgument(inner, 0) : ExperimentIssue.AtAttribute(plus);
            issues.Add(new(Descriptors.MultiStepLossNeedsSteps, where, declaration.Name ?? declaration.Type.Name, ExperimentIssue.Display(steps)));
        }
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

    private static void CheckImageFamily(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        foreach (var (metadataName, display, kind) in ExperimentParser.Families)
        {
            if (declaration.Attribute(metadataName) is not { } family) continue;
            if (declaration.Named<int>(metadataName, "Ways") is { } ways)
            {
                var max = kind == Model.TaskFamilyKind.FashionMnist ? 5 : int.MaxValue;
                if (ways < 2 || ways > max)
                    issues.Add(new(Descriptors.InvalidFamilySetting, ExperimentIssue.AtNamedArgument(family, "Ways"), display, "Ways", ExperimentIssue.Display(ways),
                        max == 5 ? "Fashion-MNIST has 5 classes on each side of its split: use 2 to 5" : "a task needs at least 2 ways"));
            }
            if (declaration.Named<int>(metadataName, "TestSteps") is < 0 and var testSteps)
                issues.Add(new(Descriptors.InvalidFamilySetting, ExperimentIssue.AtNamedArgument(family, "TestSteps"), display, "TestSteps",
                    ExperimentIssue.Display(testSteps), "it must be at least 0 (0: the training inner steps)"));
        }
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

    private static void CheckSinusoid(ExperimentDeclaration declaration, List<ExperimentIssue> issues)
    {
        if (declaration.Attribute(KnownTypeNames.SinusoidAttribute) is not { } sinusoid) return;
        foreach (var range in SinusoidDefaults.Ranges)
        {
            var minSet = declaration.IsSet(KnownTypeNames.SinusoidAttribute, range.MinProperty);
            var maxSet = declaration.IsSet(KnownTypeNames.SinusoidAttribute, range.MaxProperty);
            if (!minSet && !maxSet) continue;   // the runtime's defaults are valid
            var min = declaration.Named<double>(KnownTypeNames.SinusoidAttribute, range.MinProperty) ?? range.DefaultMin;
            var max = declaration.Named<double>(KnownTypeNames.SinusoidAttribute, range.MaxProperty) ?? range.DefaultMax;
            if (RangeProblem(min, max, range.NonNegative) is { } problem)
            {
                var where = ExperimentIssue.AtNamedArgument(sinusoid, minSet ? range.MinProperty : range.MaxProperty);
                issues.Add(new(Descriptors.InvalidSinusoidRange, where, range.Name, ExperimentIssue.Display(min), ExperimentIssue.Display(max), problem));
            }
        }
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
        foreach (var property in new[] { "AmplitudeBlock", "PhaseBlock", "FrequencyBlock", "InitialLoss", "InitialChange" })
        {
            if (Get(property) is { } v && !IsValidLearningRate(v)) Report(property, v, "it must be a finite number above 0");
        }
    }

    private static Func<CancellationToken, Location> ArgumentOf(ExperimentDeclaration declaration, string attribute) =>
        ExperimentIssue.AtArgument(declaration.Attribute(attribute)!, 0);
}

/// <summary>
/// The runtime's sinusoid ranges (<c>Meta.SinusoidRanges.Default</c>, Finn et al. 2017), needed to validate a range of
/// which only one bound is set. A test checks them against the runtime.
/// </summary>
internal static class SinusoidDefaults
{
    /// <summary>The three ranges of <c>[Sinusoid]</c>, in declaration order.</summary>
    public static IReadOnlyList<SinusoidRange> Ranges { get; } =
    [
        new("amplitude", "AmplitudeMin", "AmplitudeMax", 0.1, 5.0, NonNegative: true),
        new("phase", "PhaseMin", "PhaseMax", 0.0, Math.PI, NonNegative: false),
        new("input", "InputMin", "InputMax", -5.0, 5.0, NonNegative: false),
    ];
}

/// <summary>One range of <c>[Sinusoid]</c> with its runtime default.</summary>
internal sealed record SinusoidRange(string Name, string MinProperty, string MaxProperty, double DefaultMin, double DefaultMax, bool NonNegative);
