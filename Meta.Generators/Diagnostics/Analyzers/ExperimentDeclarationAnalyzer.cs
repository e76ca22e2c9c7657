using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Meta.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Meta.Generators.Diagnostics.Analyzers;

/// <summary>
/// Reports the diagnostics catalogue for classes marked <c>[Experiment]</c>, with the same reading and validation the
/// generator uses, so an experiment the generator skips always comes with the reason. Duplicate names (META002) are
/// reported once the whole compilation has been seen.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ExperimentDeclarationAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
    [
        Descriptors.ExperimentMustBePartial,
        Descriptors.DuplicateExperimentName,
        Descriptors.InvalidExperimentName,
        Descriptors.MissingTaskFamily,
        Descriptors.MissingAlgorithm,
        Descriptors.ContainingTypeMustBePartial,
        Descriptors.ExperimentMustNotBeGeneric,
        Descriptors.ExperimentMustBeAccessible,
        Descriptors.InnerStepsTooSmall,
        Descriptors.LearningRateNotPositive,
        Descriptors.CountTooSmall,
        Descriptors.InvalidOptionDefault,
        Descriptors.SeveralTaskFamilies,
        Descriptors.InvalidSamplerSetting,
        Descriptors.SeveralAlgorithms,
        Descriptors.InvalidAlgorithmSetting,
        Descriptors.SeveralNetworks,
        Descriptors.MissingNetwork,
        Descriptors.ComponentContract,
        Descriptors.ComponentConstructor,
        Descriptors.UnsupportedOption,
        Descriptors.DuplicateOption,
        Descriptors.UnknownOption,
        Descriptors.SamplerNeedsContinuousFamily,
    ];

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (start.Compilation.GetTypeByMetadataName(KnownTypeNames.ExperimentAttribute) is not { } experimentAttribute) return;

            var named = new ConcurrentBag<(string Name, INamedTypeSymbol Type, AttributeData Attribute)>();
            start.RegisterSymbolAction(symbol =>
            {
                var type = (INamedTypeSymbol)symbol.Symbol;
                var attribute = type.GetAttributes()
                    .FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, experimentAttribute));
                if (attribute is null) return;

                var declaration = ExperimentDeclaration.Read(type, attribute, symbol.CancellationToken);
                if (declaration.IsMalformed) return;
                foreach (var issue in ExperimentValidation.Validate(declaration, symbol.Compilation, symbol.CancellationToken))
                    symbol.ReportDiagnostic(issue.ToDiagnostic(symbol.CancellationToken));
                if (ExperimentValidation.IsValidName(declaration.Name)) named.Add((declaration.Name!, type, attribute));
            }, SymbolKind.NamedType);

            start.RegisterCompilationEndAction(end => ReportDuplicates(end, named));
        });
    }

    private static void ReportDuplicates(
        CompilationAnalysisContext context, IEnumerable<(string Name, INamedTypeSymbol Type, AttributeData Attribute)> named)
    {
        foreach (var group in named.GroupBy(n => n.Name, System.StringComparer.Ordinal))
        {
            var users = group.OrderBy(n => n.Type.ToDisplayString(), System.StringComparer.Ordinal).ToList();
            if (users.Count < 2) continue;
            var list = string.Join(", ", users.Select(u => "'" + u.Type.ToDisplayString() + "'"));
            foreach (var user in users)
            {
                var location = ExperimentIssue.AtArgument(user.Attribute, 0)(context.CancellationToken);
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.DuplicateExperimentName, location, group.Key, list));
            }
        }
    }
}
