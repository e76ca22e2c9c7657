using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Hosting;
using static TorchSharp.torch;

namespace Meta.Tasks.Images;

/// <summary>
/// N-way K-shot image classification over a split of classes: meta-training episodes from the training classes, the
/// final accuracy over fixed episodes of the held-out classes. Subclasses say where the classes come from
/// (<see cref="Load"/>); the data is loaded in <see cref="Prepare"/>, before anything is written.
/// </summary>
[DefaultNetwork<ConvNetwork>]
[Default("MetaBatch", ImageDefaults.MetaBatch)]
[Default("Init", WeightInit.PyTorch)]
public abstract class FewShotImageTasks : ITaskFamily, IValidatedComponent, IDisposable
{
    private ClassSplit? _data;
    private FewShotFamily? _train;

    /// <summary>Classes per task N.</summary>
    [Option("Classes per task N.", Minimum = 2)]
    public int Ways { get; set; } = ImageDefaults.Ways;

    /// <summary>Support images K per class.</summary>
    [Option("Support images K per class.", Minimum = 1)]
    public int Shots { get; set; } = ImageDefaults.Shots;

    /// <summary>Query images per class.</summary>
    [Option("Query images per class.", Minimum = 1)]
    public int QueryShots { get; set; } = ImageDefaults.QueryShots;

    /// <summary>Inner steps when adapting to a test episode (0: the training inner steps).</summary>
    [Option("Inner steps when adapting to a test episode (0: the training inner steps).", Minimum = 0)]
    public int TestSteps { get; set; }

    /// <summary>Fixed test episodes of the final evaluation.</summary>
    [Option("Fixed test episodes of the final evaluation.", Minimum = 2)]
    public int EvalEpisodes { get; set; } = ImageDefaults.EvalEpisodes;

    /// <summary>The loaded meta-training and meta-test classes (after <see cref="Prepare"/>).</summary>
    public ClassSplit Classes => _data ?? throw new InvalidOperationException("Prepare the family first");

    /// <inheritdoc />
    public TaskShape Shape => new([Classes.Train.Channels, Classes.Train.Height, Classes.Train.Width], Ways, Classification: true);

    /// <inheritdoc />
    public ITaskLoss Loss => TaskLoss.CrossEntropyLoss;

    /// <summary>Loads (or renders) the meta-training and meta-test classes; throw <see cref="DatasetException"/> when unfit.</summary>
    protected abstract ClassSplit Load();

    /// <inheritdoc />
    public virtual void Validate() { }

    /// <inheritdoc />
    public void Prepare(FamilyContext context)
    {
        _data?.Dispose();
        _data = Load();
        _train = new FewShotFamily(_data.Train, Ways, Shots, QueryShots, source: "meta-training classes");
        FewShotBenchmark.CheckTestClasses(_data.Test, Ways, Shots, QueryShots);
    }

    /// <inheritdoc />
    public Episode Draw(int tasks, Generator generator) =>
        (_train ?? throw new InvalidOperationException("Prepare the family first")).Draw(tasks, generator);

    /// <inheritdoc />
    public EvaluationReport? Evaluate(EvaluationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = TestSteps > 0 ? TestSteps : context.Definition.InnerSteps;
        return FewShotBenchmark.Evaluate(context.Run, context.Algorithm, Classes.Test, context.MetaParameters, context.Seeds, Ways, Shots,
            QueryShots, steps, EvalEpisodes, context.Definition.InnerLr, context.Init, context.Cancel);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _data?.Dispose();
        _data = null;
        GC.SuppressFinalize(this);
    }
}

/// <summary>Omniglot (Lake et al. 2015) with its 1,200 / 423 or background / evaluation split.</summary>
[System.ComponentModel.DisplayName("Omniglot few-shot classification")]
public sealed class OmniglotTasks : FewShotImageTasks
{
    /// <summary>The Omniglot folder.</summary>
    [Option("Omniglot folder (images_background/, images_evaluation/).", NotEmpty = true)]
    public string Data { get; set; } = ImageDefaults.OmniglotFolder;

    /// <summary>The class split.</summary>
    [Option("Meta-train / meta-test class split.")]
    public OmniglotSplit Split { get; set; }

    /// <inheritdoc />
    protected override ClassSplit Load() => OmniglotLoader.Load(Data, Split, "--data");
}

/// <summary>Mini-ImageNet (Vinyals et al. 2016; Ravi and Larochelle's split); conv-4 with 32 filters.</summary>
[Default("Filters", 32)]
[System.ComponentModel.DisplayName("Mini-ImageNet few-shot classification")]
public sealed class MiniImageNetTasks : FewShotImageTasks
{
    /// <summary>The Mini-ImageNet folder.</summary>
    [Option("Mini-ImageNet folder (train/ val/ test/ class folders or CSV splits).", NotEmpty = true)]
    public string Data { get; set; } = ImageDefaults.MiniImageNetFolder;

    /// <inheritdoc />
    protected override ClassSplit Load() => MiniImageNetLoader.LoadTrainTest(Data, "--data");
}

/// <summary>Glyphs rendered from the machine's TrueType fonts: an Omniglot-like family that needs no download.</summary>
[System.ComponentModel.DisplayName("rendered-glyph few-shot classification")]
public sealed class GlyphTasks : FewShotImageTasks
{
    /// <summary>The font folder.</summary>
    [Option("Folder of TrueType fonts the glyphs are rendered from.", NotEmpty = true)]
    public string Fonts { get; set; } = ImageDefaults.FontFolder;

    /// <inheritdoc />
    protected override ClassSplit Load() => GlyphDataset.RenderSplit(new GlyphOptions(Fonts), "--fonts");
}

/// <summary>Fashion-MNIST (Debian's dataset-fashion-mnist): 5 training and 5 test classes.</summary>
[System.ComponentModel.DisplayName("Fashion-MNIST few-shot classification")]
public sealed class FashionMnistTasks : FewShotImageTasks
{
    /// <summary>The IDX folder.</summary>
    [Option("Fashion-MNIST IDX folder (Debian's dataset-fashion-mnist).", NotEmpty = true)]
    public string Data { get; set; } = ImageDefaults.FashionMnistFolder;

    /// <inheritdoc />
    public override void Validate() =>
        OptionChecks.Requires(Ways <= 5, "--ways: Fashion-MNIST has 5 classes on each side of its split; expected 2 to 5");

    /// <inheritdoc />
    protected override ClassSplit Load() => FashionMnist.LoadSplit(Data, "--data");
}
