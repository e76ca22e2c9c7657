using System.Globalization;
using System.Text.Json;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks;
using Xunit.Abstractions;

namespace Meta.Tests.Model;

/// <summary>A short sine-maml-like run (MAML, S = 1, α = 0.01, K = 10), trained once for the model tests.</summary>
public sealed class SineRunFixture : IDisposable
{
    public SineRunFixture()
    {
        Folder = ModelRuns.Train(Root, "sine-model", new Sinusoids(), new MlpNetwork(),
            new MamlAlgorithm { InnerSteps = 1, InnerLr = 0.01 }, iterations: 1500, metaBatch: 10, metaLr: 3e-3);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "meta-model-" + Guid.NewGuid().ToString("N"));

    public string Folder { get; }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

[Collection(TorchCollection.Name)]
public sealed partial class MetaModelTests(SineRunFixture run, ITestOutputHelper log) : IClassFixture<SineRunFixture>
{
    /// <summary>A fresh task y = A·sin(x − φ) (the MAML paper's sign): 10 random support points and 100 evenly spaced test points.</summary>
    internal static (float[,] SupportX, float[,] SupportY, float[,] TestX, float[,] TestY) FreshTask(double amplitude = 3.7, double phase = 2.2, int seed = 7)
    {
        var random = new Random(seed);
        var (sx, sy) = (new float[10, 1], new float[10, 1]);
        for (var i = 0; i < 10; i++)
        {
            sx[i, 0] = (float)(random.NextDouble() * 10 - 5);
            sy[i, 0] = (float)(amplitude * Math.Sin(sx[i, 0] - phase));
        }
        var (tx, ty) = (new float[100, 1], new float[100, 1]);
        for (var i = 0; i < 100; i++)
        {
            tx[i, 0] = (float)(-5 + 10.0 * i / 99);
            ty[i, 0] = (float)(amplitude * Math.Sin(tx[i, 0] - phase));
        }
        return (sx, sy, tx, ty);
    }

    internal static double Mse(float[,] a, float[,] b) => RegressionCsv.Mse(a, b);

    /// <summary>Equal to float rounding (relative 1e-5).</summary>
    internal static void AssertClose(float[,] expected, float[,] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        foreach (var (e, a) in expected.Cast<float>().Zip(actual.Cast<float>()))
            Assert.True(Math.Abs(e - a) <= 1e-5 * Math.Max(1, Math.Abs(e)), $"{a} differs from {e}");
    }

    [Fact]
    public void A_trained_sine_run_loads_and_adapting_to_ten_points_of_a_fresh_task_lowers_the_error()
    {
        // README "Use a trained model": load, adapt to 10 points, predict.
        using var model = MetaModel.Load(Path.Combine(run.Root, "sine-model", "latest"));
        var (supportX, supportY, x, truth) = FreshTask();
        using var adapted = model.Adapt(supportX, supportY, steps: 10);
        float[,] y = adapted.Predict(x);

        using var unadapted = model.Adapt(supportX, supportY, steps: 0);
        var before = Mse(unadapted.Predict(x), truth);
        var after = Mse(y, truth);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fresh task A = 3.7, φ = 2.2, K = 10: MSE unadapted {before:0.000}, after 1 step {Mse(model.Adapt(supportX, supportY, 1).Predict(x), truth):0.000}, after 10 steps {after:0.000}"));
        Assert.Equal(run.Folder, model.Folder);
        Assert.Equal(1500, model.Iteration);
        Assert.Equal("maml", model.Algorithm.Name);
        Assert.Equal(1, model.DefaultSteps);
        Assert.True(after < 0.9 * before, $"adapted MSE {after} should be below the unadapted {before}");
    }

    [Fact]
    public void Model_json_describes_the_components_with_their_options_and_the_layout()
    {
        var manifest = ModelManifest.Read(run.Folder);
        Assert.Equal(1, manifest.FormatVersion);
        Assert.Equal("sine-model", manifest.Experiment);
        Assert.StartsWith("Meta.Tasks.Sinusoids, Meta.Runtime", manifest.Family.Type, StringComparison.Ordinal);
        Assert.Equal(0.01, manifest.Algorithm.Options["InnerLr"].GetDouble());
        Assert.Equal([40, 40], manifest.Network.Options["Hidden"].Deserialize<int[]>()!);
        Assert.Equal(1761, manifest.NetworkParameters);
        Assert.Equal(1761, manifest.MetaParameters);
        Assert.Equal(["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight", "layer3.bias"], manifest.Layout.Select(t => t.Name));
        Assert.Equal(new TaskShape([1], 1, false).ToString(), manifest.Shape.ToString());
    }

    [Fact]
    public void Components_round_trip_through_their_entries_including_enums_arrays_and_user_types()
    {
        var entry = ComponentEntry.Of(new ReptileAlgorithm { InnerOptimizer = InnerOptimizer.Adam, InnerBatch = 5, InnerLr = 0.02 });
        Assert.Equal("\"Adam\"", entry.Options["InnerOptimizer"].GetRawText());
        var reptile = JsonSerializer.Deserialize<ComponentEntry>(JsonSerializer.Serialize(entry))!.Create<IAlgorithmDefinition>("algorithm");
        var rebuilt = Assert.IsType<ReptileAlgorithm>(reptile);
        Assert.Equal(InnerOptimizer.Adam, rebuilt.InnerOptimizer);
        Assert.Equal(5, rebuilt.InnerBatch);
        Assert.Equal(0.02, rebuilt.InnerLr);

        var user = ComponentEntry.Of(new WideMlp { Width = 17, Depth = 3 }).Create<INetworkDefinition>("network");
        Assert.Equal(17, Assert.IsType<WideMlp>(user).Width);
        Assert.Equal(3, ((WideMlp)user).Depth);

        var missing = new ComponentEntry("No.Such.Type, No.Such.Assembly", new Dictionary<string, JsonElement>());
        var e = Assert.Throws<MetaModelException>(() => missing.Create<INetworkDefinition>("network"));
        Assert.Contains("No.Such.Type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_description_written_before_the_rate_parameterization_option_reads_as_the_old_direct_rates()
    {
        Assert.Equal(RateParameterization.Sigmoid, new MetaSgdAlgorithm().RateParameterization);
        var entry = ComponentEntry.Of(new MetaSgdAlgorithm { InnerLr = 0.02 });
        Assert.Equal("\"Sigmoid\"", entry.Options["RateParameterization"].GetRawText());
        var current = Assert.IsType<MetaSgdAlgorithm>(entry.Create<IAlgorithmDefinition>("algorithm"));
        Assert.Equal(RateParameterization.Sigmoid, current.RateParameterization);

        var older = new Dictionary<string, JsonElement>(entry.Options);
        older.Remove("RateParameterization");
        older.Remove("RateBound");
        var old = new ComponentEntry(entry.Type, older).Create<IAlgorithmDefinition>("algorithm");
        var rebuilt = Assert.IsType<MetaSgdAlgorithm>(old);
        Assert.Equal(RateParameterization.Direct, rebuilt.RateParameterization);
        Assert.Same(LearnedRateMapping.Direct, rebuilt.RateMapping());
        Assert.Equal(0.02, rebuilt.InnerLr);
    }

    [Fact]
    public void Concurrent_predictions_on_one_loaded_model_equal_sequential_ones()
    {
        using var model = MetaModel.Load(run.Folder);
        var tasks = Enumerable.Range(0, 8).Select(i => FreshTask(1 + i * 0.5, i * 0.4, seed: i)).ToArray();
        var adapted = tasks.Select(t => model.Adapt(t.SupportX, t.SupportY, steps: 5)).ToArray();
        var sequential = tasks.Select((t, i) => adapted[i].Predict(t.TestX)).ToArray();
        var parallel = new float[64][,];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i] = adapted[i % 8].Predict(tasks[i % 8].TestX));
        for (var i = 0; i < 64; i++) Assert.Equal(sequential[i % 8].Cast<float>(), parallel[i].Cast<float>());
        // Adapting concurrently too (serialised inside the model) gives the same weights, up to float rounding: libtorch's
        // intra-op thread count is per thread, so a pool thread may sum in another order than the test's thread.
        var again = new AdaptedModel[8];
        Parallel.For(0, 8, i => again[i] = model.Adapt(tasks[i].SupportX, tasks[i].SupportY, steps: 5));
        for (var i = 0; i < 8; i++) AssertClose(sequential[i], again[i].Predict(tasks[i].TestX));
        foreach (var a in adapted.Concat(again)) a.Dispose();
    }

    [Fact]
    public void A_batch_of_tasks_adapts_in_one_call_through_tensors()
    {
        using var model = MetaModel.Load(run.Folder);
        var tasks = Enumerable.Range(0, 3).Select(i => FreshTask(2 + i, i, seed: 10 + i)).ToArray();
        using var x = TorchSharp.torch.stack(tasks.Select(t => TorchSharp.torch.tensor(t.SupportX)).ToArray());
        using var y = TorchSharp.torch.stack(tasks.Select(t => TorchSharp.torch.tensor(t.SupportY)).ToArray());
        using var batch = model.Adapt(x, y, steps: 5);
        using var queries = TorchSharp.torch.stack(tasks.Select(t => TorchSharp.torch.tensor(t.TestX)).ToArray());
        using var predictions = batch.Forward(queries);
        Assert.Equal([3L, 100, 1], predictions.shape);
        for (var t = 0; t < 3; t++)
        {
            using var one = model.Adapt(tasks[t].SupportX, tasks[t].SupportY, steps: 5);
            var single = one.Predict(tasks[t].TestX).Cast<float>().ToArray();
            var batched = predictions[t].data<float>().ToArray();
            // Equal up to float32 rounding (a batched product sums in another order): an absolute tolerance, not rounding
            // both to 4 decimals, which fails whenever a value sits at a rounding boundary.
            for (var i = 0; i < single.Length; i++) Assert.Equal(single[i], batched[i], 1e-4f);
        }
    }

    [Fact]
    public void Bad_inputs_and_old_run_folders_are_one_line_errors()
    {
        using (var model = MetaModel.Load(run.Folder))
        {
            var e = Assert.Throws<MetaModelException>(() => model.Adapt(new float[3, 2], new float[3, 1]));
            Assert.Contains("1 input features", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<MetaModelException>(() => model.Adapt(new float[3, 1], new float[4, 1]));
            Assert.Contains("3 inputs but 4 targets", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<MetaModelException>(() => model.Adapt([new float[1, 28, 28]], [0]));
            Assert.Contains("regression model", e.Message, StringComparison.Ordinal);
        }

        var old = Path.Combine(run.Root, "old-run");
        CopyFolder(run.Folder, old);
        File.Delete(Path.Combine(old, ModelManifest.FileName));
        var missing = Assert.Throws<MetaModelException>(() => MetaModel.Load(old));
        Assert.Contains("has no model.json", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', missing.Message);

        var nowhere = Assert.Throws<MetaModelException>(() => MetaModel.Load(Path.Combine(run.Root, "no-such-run")));
        Assert.Contains("not accepted", nowhere.Message, StringComparison.Ordinal);
    }

    internal static void CopyFolder(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
    }
}

/// <summary>A user's own network definition, to show that run folders rebuild types outside Meta.Runtime.</summary>
public sealed class WideMlp : INetworkDefinition
{
    /// <summary>Hidden width.</summary>
    [Option("Hidden width.", Minimum = 1)]
    public int Width { get; set; } = 8;

    /// <summary>Hidden layers.</summary>
    [Option("Hidden layers.", Minimum = 1)]
    public int Depth { get; set; } = 1;

    /// <inheritdoc />
    public IFunctionalNetwork Create(NetworkContext context) =>
        new Mlp([context.Shape.InputFeatures, .. Enumerable.Repeat(Width, Depth), context.Shape.Outputs]);
}

[Collection(TorchCollection.Name)]
public sealed class EveryAlgorithmModelTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-model-algorithms-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    public static TheoryData<string> Algorithms() => ["maml", "fomaml", "meta-sgd", "anil", "meta-curvature", "reptile", "imaml", "maml++"];

    private static IAlgorithmDefinition Definition(string name) => name switch
    {
        "maml" => new MamlAlgorithm(),
        "fomaml" => new MamlAlgorithm { FirstOrder = true },
        "meta-sgd" => new MetaSgdAlgorithm(),
        "anil" => new AnilAlgorithm(),
        "meta-curvature" => new MetaCurvatureAlgorithm { LearnedLearningRates = true },
        "reptile" => new ReptileAlgorithm(),
        "imaml" => new ImamlAlgorithm(),
        _ => new MamlPlusPlusAlgorithm { InnerSteps = 2, PerStepBatchNorm = true },
    };

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Every_algorithm_s_run_loads_and_adapts_by_its_own_rule(string name)
    {
        var definition = Definition(name);
        var folder = ModelRuns.Train(_root, "sine-" + name.Replace("+", "p", StringComparison.Ordinal), new Sinusoids(), new MlpNetwork { Hidden = [16, 16] },
            definition, iterations: 20, metaBatch: 4);
        using var model = MetaModel.Load(folder);
        Assert.Equal(definition.GetType(), model.AlgorithmDefinition.GetType());
        var (supportX, supportY, x, _) = MetaModelTests.FreshTask();

        // The model adapts exactly as the algorithm rebuilt by hand from the checkpoint's meta-parameters does.
        using var adapted = model.Adapt(supportX, supportY, steps: 3);
        using var meta = model.MetaParameters();
        using var xs = TorchSharp.torch.tensor(supportX).unsqueeze(0);
        using var ys = TorchSharp.torch.tensor(supportY).unsqueeze(0);
        using var fast = model.Algorithm.Adapt(meta, xs, ys, 3);
        Assert.Equal(fast.data<float>().ToArray(), adapted.FastWeights.data<float>().ToArray());
        Assert.All(adapted.Predict(x).Cast<float>(), v => Assert.True(float.IsFinite(v)));

        // Learned extras (rates, curvature) are part of the meta-parameters and of the export.
        var extras = model.Manifest.MetaParameters - model.Manifest.NetworkParameters;
        Assert.Equal(extras > 0, model.NamedTensors().Any(t => t.Name == "meta.extras"));
        Assert.Equal(name is "meta-sgd" or "meta-curvature" or "maml++", extras > 0);
    }
}
