using System.Globalization;
using TorchSharp;
using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Functional;
using Meta.Hosting;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta;

/// <summary>
/// A meta-trained model loaded from its run folder: the network, the algorithm's test-time rule and the newest
/// checkpoint's meta-parameters. <see cref="Adapt(float[,], float[,], int?)"/> fits it to a new task's support set by
/// the algorithm's own rule (MAML's SGD steps, Meta-SGD's learned rates, Meta-Curvature's curvature, …) and returns an
/// <see cref="AdaptedModel"/> that predicts. Arrays in, arrays out; tensor overloads for batches of tasks.
/// Adaptation is serialised on the model; predictions of adapted models run concurrently.
/// </summary>
/// <example>
/// <code>
/// using var model = MetaModel.Load("runs/sine-maml/latest");
/// using var adapted = model.Adapt(supportX, supportY, steps: 10);   // float[K, 1], float[K, 1]
/// float[,] y = adapted.Predict(x);                                   // float[N, 1] → float[N, 1]
/// </code>
/// </example>
public sealed class MetaModel : IDisposable
{
    private readonly object _gate = new();
    private readonly Tensor _meta;
    private readonly RunSeeds _seeds;

    private MetaModel(string folder, string checkpoint, long iteration, ModelManifest manifest, ITaskFamily family,
        INetworkDefinition networkDefinition, IAlgorithmDefinition algorithmDefinition, IFunctionalNetwork network,
        IMetaAlgorithm algorithm, Tensor meta, RunSeeds seeds)
    {
        Folder = folder;
        Checkpoint = checkpoint;
        Iteration = iteration;
        Manifest = manifest;
        Family = family;
        NetworkDefinition = networkDefinition;
        AlgorithmDefinition = algorithmDefinition;
        Network = network;
        Algorithm = algorithm;
        _meta = meta;
        _seeds = seeds;
    }

    /// <summary>The run folder.</summary>
    public string Folder { get; }

    /// <summary>The checkpoint the meta-parameters come from.</summary>
    public string Checkpoint { get; }

    /// <summary>Meta-iterations the checkpoint had completed.</summary>
    public long Iteration { get; }

    /// <summary>The run's <c>model.json</c>.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>The experiment name.</summary>
    public string Experiment => Manifest.Experiment;

    /// <summary>The shape of the tasks: input shape per example, outputs (or classes), regression or classification.</summary>
    public TaskShape Shape => Manifest.Shape;

    /// <summary>The task family definition with the run's options (not prepared: no data is loaded).</summary>
    public ITaskFamily Family { get; }

    /// <summary>The network definition with the run's options.</summary>
    public INetworkDefinition NetworkDefinition { get; }

    /// <summary>The algorithm definition with the run's options.</summary>
    public IAlgorithmDefinition AlgorithmDefinition { get; }

    /// <summary>The functional network.</summary>
    public IFunctionalNetwork Network { get; }

    /// <summary>The algorithm whose test-time rule <see cref="Adapt(Tensor, Tensor, int?)"/> applies.</summary>
    public IMetaAlgorithm Algorithm { get; }

    /// <summary>Inner steps when none are given: the family's test steps if it has them, else the training inner steps.</summary>
    public int DefaultSteps =>
        Family is Tasks.Images.FewShotImageTasks { TestSteps: > 0 } images ? images.TestSteps : AlgorithmDefinition.InnerSteps;

    /// <summary>A copy of the meta-parameters [M] (θ first, then the algorithm's learned extras).</summary>
    public Tensor MetaParameters() => _meta.clone();

    /// <summary>A copy of the network weights θ [P].</summary>
    public Tensor Weights() => Algorithm.Weights(_meta).clone();

    /// <summary>
    /// Loads a trained model. <paramref name="runFolderOrLatest"/> is a run folder (<c>runs/sine-maml/20261203-101500</c>),
    /// an experiment's folder of runs (<c>runs/sine-maml</c>) or that followed by <c>/latest</c>: the newest run with a
    /// checkpoint, as <c>--resume latest</c> finds it. The meta-parameters come from the newest checkpoint. Throws
    /// <see cref="MetaModelException"/> with a one-line message when something is missing.
    /// </summary>
    public static MetaModel Load(string runFolderOrLatest)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolderOrLatest);
        var folder = ResolveFolder(runFolderOrLatest);
        var manifest = ModelManifest.Read(folder);
        var checkpoint = new CheckpointStore(folder, 1).Latest()
                         ?? throw new MetaModelException($"'{folder}' has no checkpoint in checkpoints/: the run ended before its first checkpoint");
        CheckpointReader reader;
        try { reader = CheckpointFile.Read(checkpoint); }
        catch (CheckpointException e) { throw new MetaModelException(e.Message); }
        if (!reader.Has("meta.value"))
            throw new MetaModelException($"checkpoint '{checkpoint}' has no meta-parameters (entry 'meta.value')");

        TorchRuntime.EnsureLoaded();
        var family = manifest.Family.Create<ITaskFamily>("task family");
        var networkDefinition = manifest.Network.Create<INetworkDefinition>("network");
        var algorithmDefinition = manifest.Algorithm.Create<IAlgorithmDefinition>("algorithm");
        IFunctionalNetwork network;
        try { network = networkDefinition.Create(new NetworkContext(manifest.Shape, algorithmDefinition.NetworkStepSets)); }
        catch (OptionException e) { throw new MetaModelException("model.json: the network cannot be rebuilt: " + e.Message); }
        if (network.Layout.Count != manifest.NetworkParameters)
            throw new MetaModelException($"model.json: the rebuilt network has {network.Layout.Count} parameters, the run's had {manifest.NetworkParameters} (the network type changed since the run)");
        var seeds = new RunSeeds(0);
        var meta = reader.Tensor("meta.value");
        IMetaAlgorithm algorithm;
        try
        {
            algorithm = algorithmDefinition.Create(new AlgorithmContext(network, LossOf(family, manifest.Shape), seeds));
        }
        catch (OptionException e)
        {
            meta.Dispose();
            seeds.Dispose();
            throw new MetaModelException("model.json: the algorithm cannot be rebuilt: " + e.Message);
        }
        if (meta.dim() != 1 || meta.Dims()[0] != manifest.MetaParameters)
        {
            var shape = string.Join(", ", meta.Dims());
            meta.Dispose();
            seeds.Dispose();
            throw new MetaModelException($"checkpoint '{checkpoint}' holds meta-parameters [{shape}], model.json says [{manifest.MetaParameters}]");
        }
        meta.requires_grad_(false);
        return new MetaModel(folder, checkpoint, reader.Manifest.Iteration, manifest, family, networkDefinition, algorithmDefinition,
            network, algorithm, meta, seeds);
    }

    /// <summary>The run folder <paramref name="path"/> names (see <see cref="Load"/>).</summary>
    public static string ResolveFolder(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (string.Equals(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)), "latest", StringComparison.OrdinalIgnoreCase) && !Directory.Exists(full))
            return Newest(Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar))!, path);
        if (!Directory.Exists(full))
            throw new MetaModelException($"'{path}' is not accepted; expected a run folder, an experiment's folder of runs, or such a folder followed by /latest");
        if (File.Exists(Path.Combine(full, ModelManifest.FileName)) || Directory.Exists(Path.Combine(full, "checkpoints"))) return full;
        return Newest(full, path);
    }

    private static string Newest(string root, string asked)
    {
        return ResumeSource.NewestRun(root)?.Folder ?? throw new MetaModelException($"'{asked}': no run with a checkpoint under '{root}'");
    }

    private static ITaskLoss LossOf(ITaskFamily family, TaskShape shape)
    {
        try { return family.Loss; }
        catch (InvalidOperationException) { return shape.Classification ? TaskLoss.CrossEntropyLoss : TaskLoss.MeanSquaredErrorLoss; }
    }

    /// <summary>
    /// Adapts to one regression task: <paramref name="supportX"/> [K, inputs] and <paramref name="supportY"/> [K, outputs],
    /// by <paramref name="steps"/> inner steps (default <see cref="DefaultSteps"/>; 0: the meta-learned model unadapted).
    /// </summary>
    public AdaptedModel Adapt(float[,] supportX, float[,] supportY, int? steps = null)
    {
        ArgumentNullException.ThrowIfNull(supportX);
        ArgumentNullException.ThrowIfNull(supportY);
        RequireRegression();
        if (supportX.GetLength(0) != supportY.GetLength(0))
            throw new MetaModelException($"the support set has {supportX.GetLength(0)} inputs but {supportY.GetLength(0)} targets");
        if (supportY.GetLength(1) != Shape.Outputs)
            throw new MetaModelException($"the support targets have {supportY.GetLength(1)} columns; this model predicts {Shape.Outputs}");
        CheckFeatures(supportX.GetLength(1), "support inputs");
        using var x = tensor(supportX);
        using var y = tensor(supportY);
        return Adapt(x, y, steps);
    }

    /// <summary>
    /// Adapts to one classification task: <paramref name="images"/> (each [C, H, W], values as in training, usually in
    /// [0, 1]) with class <paramref name="labels"/> in 0 … ways − 1.
    /// </summary>
    public AdaptedModel Adapt(float[][,,] images, int[] labels, int? steps = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        RequireClassification();
        if (images.Length != labels.Length)
            throw new MetaModelException($"the support set has {images.Length} images but {labels.Length} labels");
        var bad = labels.FirstOrDefault(l => l < 0 || l >= Shape.Outputs, -1);
        if (labels.Any(l => l < 0 || l >= Shape.Outputs))
            throw new MetaModelException($"label {bad} is not accepted; this model tells {Shape.Outputs} classes apart: labels 0 to {Shape.Outputs - 1}");
        using var x = ImageTensor(images, "support");
        using var y = tensor(labels.Select(l => (long)l).ToArray());
        return Adapt(x, y, steps);
    }

    /// <summary>
    /// Adapts to one task (<paramref name="supportX"/> [K, …input], <paramref name="supportY"/> [K, outputs] or labels [K])
    /// or to a batch of T tasks ([T, K, …input], [T, K, outputs] or [T, K]). Throws <see cref="MetaModelException"/> on a
    /// shape mismatch, before anything reaches autograd.
    /// </summary>
    public AdaptedModel Adapt(Tensor supportX, Tensor supportY, int? steps = null)
    {
        ArgumentNullException.ThrowIfNull(supportX);
        ArgumentNullException.ThrowIfNull(supportY);
        var count = steps ?? DefaultSteps;
        if (count < 0) throw new MetaModelException($"steps: '{count}' is not accepted; expected 0 or more inner steps");
        var batched = IsBatched(supportX, "support inputs");
        using var scope = NewDisposeScope();
        var x = (batched ? supportX : supportX.unsqueeze(0)).to_type(ScalarType.Float32).detach();
        var y = batched ? supportY : supportY.unsqueeze(0);
        y = Shape.Classification ? y.to_type(ScalarType.Int64).detach() : y.to_type(ScalarType.Float32).detach();
        if (y.dim() < 2 || y.Dims()[0] != x.Dims()[0] || y.Dims()[1] != x.Dims()[1])
            throw new MetaModelException($"support targets [{string.Join(", ", supportY.Dims())}] do not match support inputs [{string.Join(", ", supportX.Dims())}]");
        if (!Shape.Classification && (y.dim() != 3 || y.Dims()[2] != Shape.Outputs))
            throw new MetaModelException($"support targets must be [{(batched ? "tasks, " : "")}points, {Shape.Outputs}], got [{string.Join(", ", supportY.Dims())}]");
        if (Shape.Classification && y.dim() != 2)
            throw new MetaModelException($"support labels must be [{(batched ? "tasks, " : "")}images], got [{string.Join(", ", supportY.Dims())}]");
        if (Shape.Classification && (y.min().item<long>() < 0 || y.max().item<long>() >= Shape.Outputs))
            throw new MetaModelException($"support labels must be 0 to {Shape.Outputs - 1}");
        Tensor fast;
        lock (_gate)
        {
            fast = count == 0
                ? Algorithm.Weights(_meta).unsqueeze(0).expand(x.Dims()[0], -1).clone()
                : Algorithm.Adapt(_meta, Flat(x), y, count);
        }
        return new AdaptedModel(this, fast.detach().DetachFromDisposeScope(), batched);
    }

    /// <summary>Inputs as the network takes them: [T, N, features] for flat networks, [T, N, C, H, W] for image networks.</summary>
    internal Tensor Flat(Tensor x) =>
        Shape.Input.Count == 1 || Network is ConvNet ? x : x.reshape(x.Dims()[0], x.Dims()[1], Network.Inputs);

    /// <summary>Whether <paramref name="x"/> is a batch of tasks [T, N, …input] (else one task [N, …input]).</summary>
    internal bool IsBatched(Tensor x, string what)
    {
        var inputDims = Shape.Input.Count;
        var batched = x.dim() == inputDims + 2;
        if (!batched && x.dim() != inputDims + 1)
            throw new MetaModelException($"{what} must be [points, {string.Join(", ", Shape.Input)}] or [tasks, points, {string.Join(", ", Shape.Input)}], got [{string.Join(", ", x.Dims())}]");
        var tail = x.Dims().Skip(batched ? 2 : 1).ToArray();
        if (!tail.SequenceEqual(Shape.Input))
            throw new MetaModelException($"{what}: each example must be [{string.Join(", ", Shape.Input)}], got [{string.Join(", ", tail)}]");
        return batched;
    }

    internal void CheckFeatures(int columns, string what)
    {
        if (columns != Shape.InputFeatures)
            throw new MetaModelException($"the {what} have {columns} columns; this model takes {Shape.InputFeatures} input features");
    }

    internal void RequireRegression()
    {
        if (Shape.Classification)
            throw new MetaModelException($"{Experiment} is a classification model ({Shape}); adapt it with images and labels");
    }

    internal void RequireClassification()
    {
        if (!Shape.Classification)
            throw new MetaModelException($"{Experiment} is a regression model ({Shape}); adapt it with input and target arrays");
    }

    /// <summary>Images [N, C, H, W] from arrays of [C, H, W].</summary>
    internal Tensor ImageTensor(float[][,,] images, string what)
    {
        if (images.Length == 0) throw new MetaModelException($"the {what} set has no images");
        long[] expected = [.. Shape.Input];
        var size = Shape.InputFeatures;
        var data = new float[images.Length * size];
        for (var i = 0; i < images.Length; i++)
        {
            var image = images[i] ?? throw new MetaModelException($"{what} image {i} is null");
            long[] shape = [image.GetLength(0), image.GetLength(1), image.GetLength(2)];
            if (!shape.SequenceEqual(expected))
                throw new MetaModelException($"{what} image {i} is [{string.Join(", ", shape)}]; this model takes [{string.Join(", ", expected)}]");
            Buffer.BlockCopy(image, 0, data, i * size * sizeof(float), size * sizeof(float));
        }
        return tensor(data, [images.Length, .. expected]);
    }

    /// <summary>
    /// The model as named tensors for export: every tensor of θ under its layout name (MLP weights stored [in, out], so
    /// a layer is <c>x @ weight + bias</c>), and the algorithm's learned extras (learned rates, curvature) as
    /// <c>meta.extras</c> [M − P] when it has any.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Value)> NamedTensors()
    {
        var theta = Algorithm.Weights(_meta);
        var list = new List<(string, Tensor)>();
        foreach (var slot in Network.Layout.Slots)
            list.Add((slot.Name, theta.narrow(0, slot.Offset, slot.Size).reshape(slot.Shape).clone()));
        var extras = _meta.Dims()[0] - Network.Layout.Count;
        if (extras > 0) list.Add(("meta.extras", _meta.narrow(0, Network.Layout.Count, extras).clone()));
        return list;
    }

    /// <summary>
    /// The export metadata (string values): format version, experiment, algorithm and its options, the network's kind,
    /// type, options and (for MLPs) widths, the task shape, how the layers compute, and where learned rates lie.
    /// </summary>
    public IReadOnlyDictionary<string, string> ExportMetadata()
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["meta.format_version"] = ModelManifest.CurrentVersion.ToString(CultureInfo.InvariantCulture),
            ["meta.experiment"] = Experiment,
            ["meta.iteration"] = Iteration.ToString(CultureInfo.InvariantCulture),
            ["meta.algorithm"] = Algorithm.Name,
            ["meta.algorithm.type"] = AlgorithmDefinition.GetType().FullName!,
            ["meta.algorithm.options"] = System.Text.Json.JsonSerializer.Serialize(Manifest.Algorithm.Options),
            ["meta.network.type"] = NetworkDefinition.GetType().FullName!,
            ["meta.network.options"] = System.Text.Json.JsonSerializer.Serialize(Manifest.Network.Options),
            ["meta.task_shape"] = System.Text.Json.JsonSerializer.Serialize(new { input = Shape.Input, outputs = Shape.Outputs, classification = Shape.Classification }),
            ["meta.inner_steps"] = AlgorithmDefinition.InnerSteps.ToString(CultureInfo.InvariantCulture),
            ["meta.inner_lr"] = AlgorithmDefinition.InnerLr.ToString("R", CultureInfo.InvariantCulture),
            ["meta.parameters"] = Network.Layout.Count.ToString(CultureInfo.InvariantCulture),
            ["meta.meta_parameters"] = _meta.Dims()[0].ToString(CultureInfo.InvariantCulture),
        };
        switch (Network)
        {
            case Mlp mlp:
                metadata["meta.network.kind"] = "mlp";
                metadata["meta.network.widths"] = string.Join(",", mlp.Widths);
                metadata["meta.network.activation"] = mlp.Activation.ToString().ToLowerInvariant();
                metadata["meta.network.forward"] = "h = x (flattened); for each layer k: h = h @ layer{k}.weight + layer{k}.bias ([in, out] weights), the activation between layers, none after the last";
                break;
            case BatchNormMlp bn:
                metadata["meta.network.kind"] = "batchnorm-mlp";
                metadata["meta.network.widths"] = string.Join(",", bn.Widths);
                break;
            case ConvNet conv:
                metadata["meta.network.kind"] = "conv";
                metadata["meta.network.blocks"] = conv.Blocks.ToString(CultureInfo.InvariantCulture);
                metadata["meta.network.filters"] = conv.Filters.ToString(CultureInfo.InvariantCulture);
                metadata["meta.network.forward"] = "per block: conv2d 3x3 (padding 1), batch norm with batch statistics, ReLU, max-pool 2x2; then flatten and head (h @ head.weight + head.bias)";
                break;
            default:
                metadata["meta.network.kind"] = Network.GetType().Name;
                break;
        }
        if (Algorithm.LearnedRateRanges.Count > 0)
            metadata["meta.learned_rates"] = string.Join(";", Algorithm.LearnedRateRanges.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Offset}+{r.Count}")));
        if (Algorithm.LearnedRateRanges.Count > 0 && AlgorithmDefinition is LearnedRateDefinition rates)
            metadata["meta.learned_rates.mapping"] = rates.RateMapping().Formula;
        return metadata;
    }

    /// <summary>Writes the model as a safetensors file (<see cref="NamedTensors"/> and <see cref="ExportMetadata"/>) that <c>safetensors.torch.load_file</c> reads.</summary>
    public void ExportSafetensors(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var tensors = NamedTensors();
        try { Safetensors.Write(path, tensors, ExportMetadata()); }
        finally
        {
            foreach (var (_, value) in tensors) value.Dispose();
        }
    }

    /// <summary>Releases the meta-parameters and the network.</summary>
    public void Dispose()
    {
        _meta.Dispose();
        _seeds.Dispose();
        (Network as IDisposable)?.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Experiment} ({Algorithm.Name}, {Shape}, iteration {Iteration}, {Folder})");
}

/// <summary>Class predictions: the most likely class of each example and every class's probability.</summary>
/// <param name="Labels">The predicted class per example [N].</param>
/// <param name="Probabilities">Softmax probabilities [N, ways].</param>
public sealed record ClassPredictions(int[] Labels, float[,] Probabilities);

/// <summary>
/// A model adapted to one task (or a batch of tasks): fast weights that predict. Immutable: predictions from several
/// threads at once are safe.
/// </summary>
public sealed class AdaptedModel : IDisposable
{
    private readonly MetaModel _model;
    private readonly bool _batched;

    internal AdaptedModel(MetaModel model, Tensor fast, bool batched)
    {
        _model = model;
        FastWeights = fast;
        _batched = batched;
    }

    /// <summary>The adapted weights [T, P] (T = 1 for one task).</summary>
    public Tensor FastWeights { get; }

    /// <summary>Tasks adapted to.</summary>
    public long Tasks => FastWeights.Dims()[0];

    /// <summary>Regression: predictions [N, outputs] for inputs <paramref name="x"/> [N, inputs].</summary>
    public float[,] Predict(float[,] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        _model.RequireRegression();
        _model.CheckFeatures(x.GetLength(1), "inputs");
        RequireSingle();
        using var scope = NewDisposeScope();
        return ToArray(Forward(tensor(x)), x.GetLength(0), _model.Shape.Outputs);
    }

    /// <summary>Classification: the class of each image (each [C, H, W]) and the probabilities.</summary>
    public ClassPredictions Predict(float[][,,] images)
    {
        ArgumentNullException.ThrowIfNull(images);
        _model.RequireClassification();
        RequireSingle();
        using var scope = NewDisposeScope();
        var logits = Forward(_model.ImageTensor(images, "query"));
        var probabilities = nn.functional.softmax(logits, 1);
        var labels = probabilities.argmax(1).data<long>().Select(l => (int)l).ToArray();
        return new ClassPredictions(labels, ToArray(probabilities, images.Length, _model.Shape.Outputs));
    }

    /// <summary>
    /// The network's outputs (regression values or class logits): for one task <paramref name="x"/> [N, …input] → [N,
    /// outputs]; for a batch <paramref name="x"/> [T, N, …input] → [T, N, outputs]. A new tensor without autograd history.
    /// </summary>
    public Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var batched = _model.IsBatched(x, "inputs");
        if (batched != _batched || (batched && x.Dims()[0] != Tasks))
            throw new MetaModelException(_batched
                ? $"this model was adapted to {Tasks} tasks: inputs must be [{Tasks}, points, …]"
                : "this model was adapted to one task: inputs must be [points, …]");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var input = _model.Flat((batched ? x : x.unsqueeze(0)).to_type(ScalarType.Float32));
        var output = _model.Network.Forward(FastWeights, input);
        return (batched ? output : output.squeeze(0)).detach().MoveToOuterDisposeScope();
    }

    private void RequireSingle()
    {
        if (_batched) throw new MetaModelException($"this model was adapted to a batch of {Tasks} tasks; use Forward(Tensor) with [tasks, points, …] inputs");
    }

    private static float[,] ToArray(Tensor values, int rows, int columns)
    {
        var flat = values.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        var result = new float[rows, columns];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>Releases the fast weights.</summary>
    public void Dispose() => FastWeights.Dispose();
}
