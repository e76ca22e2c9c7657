using System.Reflection;
using Meta.Experiments;
using Meta.Functional;
using Meta.Generators;
using Meta.Generators.Parsing;
using Meta.Hosting;

namespace Meta.Tests.Generators;

/// <summary>
/// The facts the generator holds about Meta.Runtime as strings and numbers agree with the runtime, and the code it
/// generated for Meta.Experiments has the defaults the attributes and the runtime declare. Nothing here loads TorchSharp:
/// it only constructs generated options and reads attributes.
/// </summary>
public sealed class RuntimeContractTests
{
    public static TheoryData<string, Type> KnownTypes => new()
    {
        { KnownTypeNames.ExperimentAttribute, typeof(ExperimentAttribute) },
        { KnownTypeNames.SamplerAttribute, typeof(SamplerAttribute) },
        { KnownTypeNames.SamplerKind, typeof(SamplerKind) },
        { KnownTypeNames.InnerStepsAttribute, typeof(InnerStepsAttribute) },
        { KnownTypeNames.InnerLrAttribute, typeof(InnerLrAttribute) },
        { KnownTypeNames.MetaLrAttribute, typeof(MetaLrAttribute) },
        { KnownTypeNames.MetaBatchAttribute, typeof(MetaBatchAttribute) },
        { KnownTypeNames.ShotsAttribute, typeof(ShotsAttribute) },
        { KnownTypeNames.IterationsAttribute, typeof(IterationsAttribute) },
        { KnownTypeNames.SeedAttribute, typeof(SeedAttribute) },
        { KnownTypeNames.WeightInit, typeof(WeightInit) },
        { KnownTypeNames.NonFinitePolicy, typeof(Meta.Hosting.NonFinitePolicy) },
        { KnownTypeNames.DistributedMode, typeof(Meta.Distributed.DistributedMode) },
        { KnownTypeNames.Parallelism, typeof(Meta.Training.Parallelism) },
        { KnownTypeNames.ExperimentDescriptor, typeof(ExperimentDescriptor) },
        { KnownTypeNames.ScratchCurveAttribute, typeof(ScratchCurveAttribute) },
        { KnownTypeNames.InitAttribute, typeof(InitAttribute) },
        { KnownTypeNames.MetaOptimizerKind, typeof(MetaOptimizerKind) },
        { KnownTypeNames.LrSchedule, typeof(LrSchedule) },
        { KnownTypeNames.DefaultAttribute, typeof(DefaultAttribute) },
        { KnownTypeNames.OptionAttribute, typeof(OptionAttribute) },
        { KnownTypeNames.SamplerOnlyAttribute, typeof(SamplerOnlyAttribute) },
        { KnownTypeNames.DefaultNetworkAttribute, typeof(DefaultNetworkAttribute<>) },
        { KnownTypeNames.TaskFamily, typeof(ITaskFamily) },
        { KnownTypeNames.SampledTaskFamily, typeof(ISampledTaskFamily) },
        { KnownTypeNames.NetworkDefinition, typeof(INetworkDefinition) },
        { KnownTypeNames.AlgorithmDefinition, typeof(IAlgorithmDefinition) },
        { KnownTypeNames.LearnsInnerRates, typeof(ILearnsInnerRates) },
        { KnownTypeNames.ValidatedComponent, typeof(IValidatedComponent) },
    };

    [Theory]
    [MemberData(nameof(KnownTypes))]
    public void KnownTypeNameIsTheRuntimeTypesFullName(string name, Type type) => Assert.Equal(type.FullName, name);

    [Fact]
    public void EveryKnownTypeNameIsCovered()
    {
        var constants = typeof(KnownTypeNames).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetRawConstantValue()!);
        Assert.Equal(constants.Order(StringComparer.Ordinal), KnownTypes.Select(row => (string)row[0]).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("InnerSteps")]
    [InlineData("PyTorch")]
    [InlineData("ImportanceDelta")]
    [InlineData("Sinusoid3D")]
    [InlineData("IOBound")]
    [InlineData("lower")]
    public void KebabCaseMatchesTheRuntime(string pascal) =>
        Assert.Equal(Meta.Hosting.OptionNames.Kebab(pascal), Meta.Generators.Parsing.OptionNames.Kebab(pascal));

    [Fact]
    public void SineMamlOptionsDefaultToItsAttributes()
    {
        var options = new SineMaml.Options();
        var type = typeof(SineMaml);
        var shots = type.GetCustomAttribute<ShotsAttribute>()!;

        Assert.Equal(type.GetCustomAttribute<IterationsAttribute>()!.Count, options.Iterations);
        Assert.Equal(type.GetCustomAttribute<MetaBatchAttribute>()!.Tasks, options.MetaBatch);
        Assert.Equal(shots.Support, options.Shots);
        Assert.Equal(shots.Query == 0 ? shots.Support : shots.Query, options.QueryShots);
        Assert.Equal(type.GetCustomAttribute<InnerStepsAttribute>()!.Steps, options.InnerSteps);
        Assert.Equal(type.GetCustomAttribute<InnerLrAttribute>()!.Rate, options.InnerLr);
        Assert.Equal(type.GetCustomAttribute<MetaLrAttribute>()!.Rate, options.MetaLr);
        Assert.Equal(type.GetCustomAttribute<MamlAttribute>()!.FirstOrder, options.FirstOrder);
        Assert.Equal(type.GetCustomAttribute<SeedAttribute>()!.Seed, options.Seed);
    }

    [Fact]
    public void SineMamlOptionsDefaultToTheRuntimeWhereAttributesAreSilent()
    {
        var options = new SineMaml.Options();
        var sinusoid = typeof(SineMaml).GetCustomAttribute<SinusoidAttribute>()!;   // [Sinusoid] sets no bound

        Assert.Equal(WeightInit.Finn, options.Init);
        Assert.Equal((sinusoid.AmplitudeMin, sinusoid.AmplitudeMax), (options.AmplitudeMin, options.AmplitudeMax));
        Assert.Equal((sinusoid.PhaseMin, sinusoid.PhaseMax), (options.PhaseMin, options.PhaseMax));
        Assert.Equal((sinusoid.InputMin, sinusoid.InputMax), (options.InputMin, options.InputMax));
        Assert.Equal(SinusoidRanges.Default, new SinusoidRanges(
            options.AmplitudeMin, options.AmplitudeMax, options.PhaseMin, options.PhaseMax, options.InputMin, options.InputMax));
        Assert.Equal(ExperimentDefaults.EvalTasks, options.EvalTasks);
        Assert.Equal(ExperimentDefaults.EvalPoints, options.EvalPoints);
        Assert.Equal(ExperimentDefaults.PretrainIterations, options.PretrainIterations);
        Assert.Equal(ExperimentDefaults.Threads, options.Threads);
        Assert.Equal(ExperimentDefaults.Output, options.Output);
        Assert.Equal(ExperimentDefaults.LogEvery, options.LogEvery);
        options.Validate();   // the defaults are accepted
    }

    [Fact]
    public void SineMamlDescriptorDescribesEveryOption()
    {
        var descriptor = SineMaml.Descriptor;
        var attribute = typeof(SineMaml).GetCustomAttribute<ExperimentAttribute>()!;
        Assert.Equal(SineMaml.ExperimentName, attribute.Name);
        Assert.Equal(attribute.Name, descriptor.Name);
        Assert.Equal(attribute.Description, descriptor.Description);
        Assert.Equal("maml", descriptor.Algorithm);
        Assert.Same(SineMaml.Options.Descriptors, descriptor.Options);

        var properties = typeof(SineMaml.Options).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name);
        Assert.Equal(properties, descriptor.Options.Select(o => o.Key));
        Assert.All(descriptor.Options, o => Assert.Equal(Meta.Hosting.OptionNames.Kebab(o.Key), o.Name));
        Assert.Equal(descriptor.Options.Select(o => o.Key), new SineMaml.Options().Resolved().Select(r => r.Key));

        var init = descriptor.Options.Single(o => o.Key == "Init");
        Assert.Equal(Enum.GetNames<WeightInit>().Select(Meta.Hosting.OptionNames.Kebab), init.Choices);
    }
}
