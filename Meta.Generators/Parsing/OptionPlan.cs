using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Meta.Generators.Emitting;
using Meta.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Meta.Generators.Parsing;

/// <summary>Where an option's default comes from when an attribute sets it.</summary>
/// <param name="Value">The attribute's constant.</param>
/// <param name="Attribute">The attribute (for diagnostics' locations).</param>
/// <param name="Property">The named argument that set it, or null for a constructor argument.</param>
/// <param name="Argument">The constructor argument's index when <paramref name="Property"/> is null.</param>
internal sealed record DefaultSource(TypedConstant Value, AttributeData Attribute, string? Property, int Argument = 0)
{
    /// <summary>Where to point a diagnostic about this value.</summary>
    public Func<System.Threading.CancellationToken, Location> Location =>
        Property is null ? ExperimentIssue.AtArgument(Attribute, Argument) : ExperimentIssue.AtNamedArgument(Attribute, Property);
}

/// <summary>One option of the plan: what it is, whose it is, and its attribute-set default if any.</summary>
internal sealed class PlannedOption
{
    public string Key { get; init; } = "";
    public OptionType Type { get; init; }
    public ITypeSymbol? EnumType { get; init; }
    public string Description { get; init; } = "";
    public string? Component { get; init; }
    public string? RuntimeDefault { get; init; }
    public long? Minimum { get; init; }
    public bool Positive { get; init; }
    public bool NonNegative { get; init; }
    public string? Above { get; init; }
    public bool NotEmpty { get; init; }
    public DefaultSource? Default { get; set; }
}

/// <summary>
/// The option list of an experiment before it becomes specs: the loop's own options, then the algorithm's, the family's
/// and the network's <c>[Option]</c> properties, with defaults resolved from the attributes (the experiment's own
/// attributes over the algorithm's, network's and family's type-level <c>[Default]</c>s over the property's initial
/// value). The analyzer validates it, the parser turns it into <see cref="OptionSpec"/>s.
/// </summary>
internal sealed class OptionPlan
{
    private readonly Dictionary<string, PlannedOption> _byKey = new(StringComparer.Ordinal);

    /// <summary>The options in order.</summary>
    public List<PlannedOption> Options { get; } = [];

    /// <summary>Keys declared twice: (key, first owner, second owner).</summary>
    public List<(string Key, string First, string Second)> Collisions { get; } = [];

    /// <summary>Defaults that name no option: (key, source).</summary>
    public List<(string Key, DefaultSource Source)> UnknownDefaults { get; } = [];

    /// <summary>Options by key.</summary>
    public PlannedOption? Find(string key) => _byKey.TryGetValue(key, out var o) ? o : null;

    private const string Defaults = "global::Meta.ExperimentDefaults.";

    /// <summary>Builds the plan of a declaration whose three components resolved.</summary>
    public static OptionPlan Create(ExperimentDeclaration d, ExperimentComponents components, Compilation compilation)
    {
        var plan = new OptionPlan();
        var sampler = d.Attribute(KnownTypeNames.SamplerAttribute) is not null;
        EnumType(compilation, KnownTypeNames.MetaOptimizerKind, out var optimizerType);
        EnumType(compilation, KnownTypeNames.LrSchedule, out var scheduleType);
        EnumType(compilation, KnownTypeNames.WeightInit, out var initType);

        plan.Loop("Iterations", OptionType.Int32, Defaults + "Iterations", "Meta-iterations (outer steps).", minimum: 1);
        plan.Loop("MetaBatch", OptionType.Int32, Defaults + "MetaBatch", "Tasks per meta-batch.", minimum: 1);
        plan.Loop("MetaLr", OptionType.Double, Defaults + "MetaLr", "Meta learning rate.", positive: true);
        plan.Loop("MetaOptimizer", OptionType.Enum, "global::Meta.MetaOptimizerKind.Adam", "Meta-optimiser.", enumType: optimizerType);
        plan.Loop("MetaLrSchedule", OptionType.Enum, "global::Meta.LrSchedule.Constant", "How the meta learning rate changes over the run.", enumType: scheduleType);
        plan.Loop("MetaLrMin", OptionType.Double, "global::Meta.AlgorithmDefaults.MetaLrMinimum", "Lowest meta learning rate of the cosine schedule.", nonNegative: true);
        plan.Loop("MetaGradClip", OptionType.Double, "global::Meta.AlgorithmDefaults.MetaGradientClip", "Clip the meta-gradient to this global L2 norm before each step (0: no clipping).", nonNegative: true);
        plan.Component(components.Algorithm, "Algorithm", sampler);
        plan.Loop("Seed", OptionType.Int64, Defaults + "Seed", "The run seed.");
        plan.Loop("Init", OptionType.Enum, "global::Meta.Functional.WeightInit.Finn", "Weight initialisation.", enumType: initType);
        plan.Component(components.Tasks, "Tasks", sampler);
        plan.Component(components.Network, "Network", sampler);

        // Type-level defaults, lowest priority first, then the experiment's attributes.
        foreach (var component in new[] { components.Tasks, components.Network, components.Algorithm })
        {
            foreach (var attribute in Enumerable.Reverse(component.Defaults)) plan.SetFromDefaultAttribute(attribute);
        }
        foreach (var use in d.Components)
        {
            foreach (var named in use.Attribute.NamedArguments) plan.Set(named.Key, new DefaultSource(named.Value, use.Attribute, named.Key));
        }
        plan.SetArgument(d, KnownTypeNames.IterationsAttribute, "Iterations");
        plan.SetArgument(d, KnownTypeNames.MetaBatchAttribute, "MetaBatch");
        plan.SetArgument(d, KnownTypeNames.SeedAttribute, "Seed");
        plan.SetArgument(d, KnownTypeNames.InitAttribute, "Init");
        plan.SetArgument(d, KnownTypeNames.InnerStepsAttribute, "InnerSteps");
        plan.SetArgument(d, KnownTypeNames.InnerLrAttribute, "InnerLr");
        plan.SetArgument(d, KnownTypeNames.MetaLrAttribute, "MetaLr");
        if (d.Attribute(KnownTypeNames.MetaLrAttribute) is { } metaLr)
        {
            foreach (var (property, key) in new[] { ("Optimizer", "MetaOptimizer"), ("Schedule", "MetaLrSchedule"), ("Minimum", "MetaLrMin"), ("GradientClip", "MetaGradClip"), ("LearnedRateScale", "LearnedRateScale") })
            {
                var named = metaLr.NamedArguments.FirstOrDefault(a => a.Key == property);
                if (named.Key is null) continue;
                // LearnedRateScale only applies to algorithms that learn rates.
                if (key == "LearnedRateScale" && plan.Find(key) is null) continue;
                plan.Set(key, new DefaultSource(named.Value, metaLr, property));
            }
        }
        if (d.Attribute(KnownTypeNames.ShotsAttribute) is { } shots && shots.ConstructorArguments.Length == 1)
        {
            plan.Set("Shots", new DefaultSource(shots.ConstructorArguments[0], shots, null));
            var query = shots.NamedArguments.FirstOrDefault(a => a.Key == "Query");
            plan.Set("QueryShots", query.Key is not null && query.Value.Value is int q && q > 0
                ? new DefaultSource(query.Value, shots, "Query")
                : new DefaultSource(shots.ConstructorArguments[0], shots, null));
        }
        // [Sampler]'s per-parameter knobs (queue blocks) are options of the family.
        if (d.Attribute(KnownTypeNames.SamplerAttribute) is { } samplerAttribute)
        {
            foreach (var named in samplerAttribute.NamedArguments)
            {
                if (plan.Find(named.Key) is { Component: not null }) plan.Set(named.Key, new DefaultSource(named.Value, samplerAttribute, named.Key));
            }
        }
        foreach (var attribute in d.Defaults) plan.SetFromDefaultAttribute(attribute);
        return plan;
    }

    /// <summary>The options as specs, in order; the attribute-set defaults as C# literals.</summary>
    public EquatableArray<OptionSpec> ToSpecs()
    {
        var specs = new List<OptionSpec>();
        foreach (var option in Options)
        {
            var flag = OptionNames.Kebab(option.Key);
            var enumRef = option.EnumType is { } e ? new TypeRef(e.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)) : (TypeRef?)null;
            var choices = option.EnumType is INamedTypeSymbol en
                ? en.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).Select(f => OptionNames.Kebab(f.Name)).ToEquatableArray()
                : EquatableArray<string>.Empty;
            var literal = option.Default is { } source ? Literal(option, source.Value) : null;
            var check = option.Above is { } lower && Find(lower) is { } low ? new OptionCheck(OptionCheckKind.Above, LowerKey: low.Key, LowerFlag: OptionNames.Kebab(low.Key))
                : option.Positive ? OptionCheck.Positive
                : option.NonNegative ? OptionCheck.NonNegative
                : option.Minimum is { } min && option.Type is OptionType.Int32 or OptionType.Int64 or OptionType.Int32List ? new OptionCheck(OptionCheckKind.AtLeast, (int)Math.Max(int.MinValue, Math.Min(int.MaxValue, min)))
                : option.NotEmpty ? OptionCheck.NotEmpty
                : option.Type == OptionType.Int32List ? OptionCheck.AtLeast(int.MinValue)
                : OptionCheck.None;
            specs.Add(new OptionSpec(option.Key, flag, option.Type, enumRef, choices, literal ?? option.RuntimeDefault ?? "default!",
                option.Description, check, option.Component));
        }
        return specs.ToEquatableArray();
    }

    /// <summary>Why an attribute-set default is not accepted, or null. Numbers outside the option's checks; wrong kinds.</summary>
    public string? Problem(PlannedOption option)
    {
        if (option.Default is not { } source) return null;
        if (Literal(option, source.Value) is null) return $"it must be {Kind(option)}";
        var value = source.Value;
        double? number = option.Type is OptionType.Int32 or OptionType.Int64 or OptionType.Double ? Convert.ToDouble(value.Value, CultureInfo.InvariantCulture) : null;
        if (option.Positive && number is { } p && !(p > 0 && !double.IsInfinity(p))) return "it must be a finite number above 0";
        if (option.NonNegative && number is { } n && !(n >= 0 && !double.IsInfinity(n))) return "it must be a finite number ≥ 0";
        if (option.Minimum is { } min)
        {
            if (number is { } w && w < min) return $"it must be at least {min.ToString(CultureInfo.InvariantCulture)}";
            if (option.Type == OptionType.Int32List && (value.Values.Length == 0 || value.Values.Any(v => v.Value is int i && i < min)))
                return $"every element must be at least {min.ToString(CultureInfo.InvariantCulture)}";
        }
        if (option.NotEmpty && value.Value is string s && s.Trim().Length == 0) return "it must not be empty";
        if (option.Above is { } lowerKey && Find(lowerKey) is { Default: { } lowerSource } && number is { } upper
            && Convert.ToDouble(lowerSource.Value.Value, CultureInfo.InvariantCulture) is var lower && !(upper > lower))
            return $"it must be above {lowerKey} ({lower.ToString("R", CultureInfo.InvariantCulture)})";
        if (number is { } f && (double.IsNaN(f) || double.IsInfinity(f))) return "it must be finite";
        return null;
    }

    private static string Kind(PlannedOption option) => option.Type switch
    {
        OptionType.Int32 => "a whole number (int)",
        OptionType.Int64 => "a whole number",
        OptionType.Double => "a number",
        OptionType.Boolean => "true or false",
        OptionType.String => "a string",
        OptionType.Int32List => "an int[] such as new[] { 40, 40 }",
        _ => "a member of " + option.EnumType?.Name,
    };

    /// <summary>The C# literal of <paramref name="value"/> for <paramref name="option"/>, or null when it does not fit.</summary>
    private static string? Literal(PlannedOption option, TypedConstant value)
    {
        if (value.IsNull) return null;
        switch (option.Type)
        {
            case OptionType.Int32 when value.Kind == TypedConstantKind.Primitive && value.Value is int i: return CSharpLiteral.Int32(i);
            case OptionType.Int64 when value.Kind == TypedConstantKind.Primitive && value.Value is int or long: return CSharpLiteral.Int64(Convert.ToInt64(value.Value, CultureInfo.InvariantCulture));
            case OptionType.Double when value.Kind == TypedConstantKind.Primitive && value.Value is double or float or int or long:
                return CSharpLiteral.Double(Convert.ToDouble(value.Value, CultureInfo.InvariantCulture));
            case OptionType.Boolean when value.Value is bool b: return CSharpLiteral.Boolean(b);
            case OptionType.String when value.Value is string s: return CSharpLiteral.String(s);
            case OptionType.Int32List when value.Kind == TypedConstantKind.Array && value.Values.All(v => v.Value is int):
                return "[" + string.Join(", ", value.Values.Select(v => CSharpLiteral.Int32((int)v.Value!))) + "]";
            case OptionType.Enum when option.EnumType is INamedTypeSymbol enumType && value.Value is { } raw
                && (value.Kind == TypedConstantKind.Enum ? SymbolEqualityComparer.Default.Equals(value.Type, enumType) : raw is int):
                var member = enumType.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(f => f.HasConstantValue && Equals(Convert.ToInt64(f.ConstantValue, CultureInfo.InvariantCulture), Convert.ToInt64(raw, CultureInfo.InvariantCulture)));
                return member is null ? null : enumType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + "." + member.Name;
            default: return null;
        }
    }

    private void Loop(string key, OptionType type, string runtimeDefault, string description, long? minimum = null, bool positive = false,
        bool nonNegative = false, ITypeSymbol? enumType = null) =>
        Add(new PlannedOption
        {
            Key = key, Type = type, RuntimeDefault = runtimeDefault, Description = description, Minimum = minimum, Positive = positive,
            NonNegative = nonNegative, EnumType = enumType,
        }, "the experiment loop");

    private void Component(ComponentInfo component, string role, bool sampler)
    {
        var defaults = role + "Defaults";
        foreach (var option in component.Options)
        {
            if (option.Type is not { } type || !option.IsSettable || (option.SamplerOnly && !sampler)) continue;
            var minimum = option.Named("Minimum") is long m && m != long.MinValue ? m : (long?)null;
            var runtime = type == OptionType.Int32List ? $"[.. {defaults}.{option.Key}]" : $"{defaults}.{option.Key}";
            Add(new PlannedOption
            {
                Key = option.Key, Type = type, RuntimeDefault = runtime, Description = option.Description, Component = role,
                EnumType = type == OptionType.Enum ? option.Property.Type : null, Minimum = minimum,
                Positive = option.Named("Positive") is true, NonNegative = option.Named("NonNegative") is true,
                Above = option.Named("Above") as string, NotEmpty = option.Named("NotEmpty") is true,
            }, component.Type.Name);
        }
    }

    private void Add(PlannedOption option, string owner)
    {
        if (_byKey.TryGetValue(option.Key, out var existing))
        {
            Collisions.Add((option.Key, existing.Component is null ? "the experiment loop" : existing.Component, owner));
            return;
        }
        _byKey.Add(option.Key, option);
        Options.Add(option);
    }

    private void Set(string key, DefaultSource source)
    {
        if (Find(key) is { } option) option.Default = source;
        else UnknownDefaults.Add((key, source));
    }

    private void SetArgument(ExperimentDeclaration d, string attributeName, string key)
    {
        if (d.Attribute(attributeName) is { } attribute && attribute.ConstructorArguments.Length >= 1)
            Set(key, new DefaultSource(attribute.ConstructorArguments[0], attribute, null));
    }

    private void SetFromDefaultAttribute(AttributeData attribute)
    {
        if (attribute.ConstructorArguments.Length == 2 && attribute.ConstructorArguments[0].Value is string key)
            Set(key, new DefaultSource(attribute.ConstructorArguments[1], attribute, null, Argument: 1));
    }

    private static void EnumType(Compilation compilation, string name, out ITypeSymbol? type) =>
        type = compilation.GetTypeByMetadataName(name);
}

/// <summary>The three components of an experiment, resolved from its attributes (the network may come from the family's default).</summary>
internal sealed record ExperimentComponents(ComponentInfo Tasks, ComponentInfo Network, ComponentInfo Algorithm)
{
    /// <summary>The components, or null when one is missing or declared twice (the analyzer reports it).</summary>
    public static ExperimentComponents? Resolve(ExperimentDeclaration d)
    {
        var tasks = d.ComponentsOf(ComponentRole.Tasks).ToList();
        var algorithms = d.ComponentsOf(ComponentRole.Algorithm).ToList();
        var networks = d.ComponentsOf(ComponentRole.Network).ToList();
        if (tasks.Count != 1 || algorithms.Count != 1 || networks.Count > 1) return null;
        var family = ComponentInfo.Read(ComponentRole.Tasks, tasks[0].Type);
        var networkType = networks.Count == 1 ? networks[0].Type : family.DefaultNetwork;
        if (networkType is null) return null;
        return new ExperimentComponents(family, ComponentInfo.Read(ComponentRole.Network, networkType), ComponentInfo.Read(ComponentRole.Algorithm, algorithms[0].Type));
    }

    /// <summary>All three, family first.</summary>
    public IEnumerable<ComponentInfo> All => [Tasks, Network, Algorithm];

    /// <summary>The spec of one component.</summary>
    public static ComponentSpec Spec(ComponentInfo info, string role) =>
        new(role, new TypeRef(info.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)), info.DisplayName, info.IsDisposable, info.IsValidated,
            info.LearnsRates, info.IsSampled);
}
