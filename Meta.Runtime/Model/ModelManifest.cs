using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Meta.Functional;
using Meta.Hosting;

namespace Meta;

/// <summary>A trained model that cannot be loaded or used: the message is one line naming what is missing or wrong.</summary>
public sealed class MetaModelException(string message) : Exception(message);

/// <summary>One component of a run (task family, network or algorithm definition): its type and its option values.</summary>
/// <param name="Type">The assembly-qualified type name.</param>
/// <param name="Options">The values of its <see cref="OptionAttribute"/> properties, by property name.</param>
public sealed record ComponentEntry(string Type, IReadOnlyDictionary<string, JsonElement> Options)
{
    /// <summary>The entry of <paramref name="component"/>: its type and every <see cref="OptionAttribute"/> property's value.</summary>
    public static ComponentEntry Of(object component)
    {
        ArgumentNullException.ThrowIfNull(component);
        var type = component.GetType();
        var options = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in OptionProperties(type))
            options[property.Name] = JsonSerializer.SerializeToElement(property.GetValue(component), property.PropertyType, ModelManifest.Json);
        return new ComponentEntry(type.AssemblyQualifiedName ?? type.FullName ?? type.Name, options);
    }

    /// <summary>
    /// Rebuilds the component: finds the type (also when the assembly version differs), calls its public parameterless
    /// constructor and sets the recorded options. Throws <see cref="MetaModelException"/> naming what does not fit.
    /// </summary>
    public T Create<T>(string role) where T : class
    {
        var type = FindType(Type)
                   ?? throw new MetaModelException($"model.json: the {role} type '{Type}' cannot be found; load the assembly that defines it (reference it from the program that loads the model)");
        if (!typeof(T).IsAssignableFrom(type))
            throw new MetaModelException($"model.json: the {role} type '{type.FullName}' is not a {typeof(T).Name}");
        if (type.GetConstructor(System.Type.EmptyTypes) is null)
            throw new MetaModelException($"model.json: the {role} type '{type.FullName}' has no public parameterless constructor");
        var component = (T)Activator.CreateInstance(type)!;
        var properties = OptionProperties(type).ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var (name, value) in Options)
        {
            if (!properties.TryGetValue(name, out var property))
                throw new MetaModelException($"model.json: the {role} {type.Name} has no option '{name}' any more (the run was written by another version of it)");
            object? converted;
            try { converted = value.Deserialize(property.PropertyType, ModelManifest.Json); }
            catch (JsonException e)
            {
                throw new MetaModelException($"model.json: the {role} option {type.Name}.{name} = {value.GetRawText()} is not a {property.PropertyType.Name} ({e.Message})");
            }
            property.SetValue(component, converted);
        }
        // Options the file predates: those whose old behaviour differs from today's default say so (OptionAttribute.WhenAbsent).
        foreach (var (name, property) in properties)
            if (!Options.ContainsKey(name) && property.GetCustomAttribute<OptionAttribute>(inherit: true)?.WhenAbsent is { } legacy)
                property.SetValue(component, legacy);
        return component;
    }

    /// <summary>The public settable <see cref="OptionAttribute"/> properties of <paramref name="type"/>, by name.</summary>
    internal static IEnumerable<PropertyInfo> OptionProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.CanWrite && p.SetMethod!.IsPublic && p.GetCustomAttribute<OptionAttribute>(inherit: true) is not null)
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    private static Type? FindType(string name)
    {
        var type = System.Type.GetType(name, throwOnError: false);
        if (type is not null) return type;
        // The same type from an assembly of another version: "Full.Name, Assembly" without version, culture and key.
        var parts = name.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length >= 2)
        {
            type = System.Type.GetType($"{parts[0]}, {parts[1]}", throwOnError: false);
            if (type is not null) return type;
            type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(parts[0], throwOnError: false)).FirstOrDefault(t => t is not null);
        }
        return type;
    }
}

/// <summary>One parameter tensor of θ: its name, per-task shape and offset in the flat vector.</summary>
/// <param name="Name">The layout name (e.g. <c>layer1.weight</c>).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Offset">Index of its first element in θ.</param>
public sealed record ModelTensor(string Name, long[] Shape, long Offset);

/// <summary>
/// <c>model.json</c>: what a run folder needs to rebuild its trained model — the experiment, the task family, network
/// and algorithm definitions with their options, the task shape, and the layout of the meta-parameters (θ [P] first,
/// then the algorithm's learned extras). Written by <see cref="ExperimentRun"/> when a run begins.
/// </summary>
/// <param name="FormatVersion">The file format (<see cref="CurrentVersion"/>).</param>
/// <param name="Experiment">The experiment name.</param>
/// <param name="Family">The task family.</param>
/// <param name="Network">The network definition.</param>
/// <param name="Algorithm">The algorithm definition.</param>
/// <param name="Shape">The task shape the network is built for.</param>
/// <param name="MetaParameters">Meta-parameters M (θ and the learned extras).</param>
/// <param name="NetworkParameters">Network parameters P (θ, the first P meta-parameters).</param>
/// <param name="Layout">The tensors of θ.</param>
public sealed record ModelManifest(
    int FormatVersion,
    string Experiment,
    ComponentEntry Family,
    ComponentEntry Network,
    ComponentEntry Algorithm,
    TaskShape Shape,
    long MetaParameters,
    long NetworkParameters,
    IReadOnlyList<ModelTensor> Layout)
{
    /// <summary>The format this version writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The file name in a run folder.</summary>
    public const string FileName = "model.json";

    /// <summary>JSON settings: indented, enums by name, NaN and ∞ as literals.</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The manifest of a run over <paramref name="components"/> with <paramref name="metaParameters"/> meta-parameters.</summary>
    public static ModelManifest Describe(string experiment, RunComponents components, long metaParameters)
    {
        ArgumentNullException.ThrowIfNull(components);
        var network = components.Network.Create(new NetworkContext(components.Shape, components.Algorithm.NetworkStepSets));
        try
        {
            return new ModelManifest(CurrentVersion, experiment, ComponentEntry.Of(components.Family), ComponentEntry.Of(components.Network),
                ComponentEntry.Of(components.Algorithm), components.Shape, metaParameters, network.Layout.Count,
                [.. network.Layout.Slots.Select(s => new ModelTensor(s.Name, s.Shape, s.Offset))]);
        }
        finally
        {
            (network as IDisposable)?.Dispose();
        }
    }

    /// <summary>The manifest as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <c>model.json</c> of <paramref name="runFolder"/>; throws <see cref="MetaModelException"/> when it is missing or unreadable.</summary>
    public static ModelManifest Read(string runFolder)
    {
        var path = System.IO.Path.Combine(runFolder, FileName);
        if (!File.Exists(path))
            throw new MetaModelException($"'{runFolder}' has no {FileName}: it was written before run folders described their model (format {CurrentVersion}), or is not a run folder; train it again with this version to use it as a model");
        ModelManifest? manifest;
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path));
            var version = node?["formatVersion"]?.GetValue<int>();
            if (version != CurrentVersion)
                throw new MetaModelException($"'{path}' has format version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}; this version reads format {CurrentVersion}");
            manifest = node.Deserialize<ModelManifest>(Json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new MetaModelException($"'{path}' is not readable as a model description: {e.Message}");
        }
        if (manifest?.Family is null || manifest.Network is null || manifest.Algorithm is null || manifest.Shape is null || manifest.Layout is null)
            throw new MetaModelException($"'{path}' is incomplete: it needs family, network, algorithm, shape and layout");
        return manifest;
    }
}
