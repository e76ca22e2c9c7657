using Meta.Tasks.Images;

namespace Meta;

/// <summary>
/// Task family: few-shot classification on Omniglot (Lake et al. 2015), 28 × 28, conv-4 with 64 filters. The data is
/// not shipped: point <c>--data</c> at the unzipped Python release (<c>images_background/</c>, <c>images_evaluation/</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class OmniglotAttribute : TasksAttribute<OmniglotTasks>
{
    /// <summary>Classes per task N (at least 2).</summary>
    public int Ways { get; set; } = ImageDefaults.Ways;

    /// <summary>How characters are divided into meta-training and meta-test classes.</summary>
    public OmniglotSplit Split { get; set; }

    /// <summary>Inner steps when adapting to a test episode (at least 1; 0: the training inner steps).</summary>
    public int TestSteps { get; set; }
}

/// <summary>
/// Task family: few-shot classification on Mini-ImageNet (Vinyals et al. 2016; Ravi &amp; Larochelle's split), 84 × 84 × 3,
/// conv-4 with 32 filters. Point <c>--data</c> at <c>train/ val/ test/</c> class folders or the CSV split files.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class MiniImageNetAttribute : TasksAttribute<MiniImageNetTasks>
{
    /// <summary>Classes per task N (at least 2).</summary>
    public int Ways { get; set; } = ImageDefaults.Ways;

    /// <summary>Inner steps when adapting to a test episode (at least 1; 0: the training inner steps).</summary>
    public int TestSteps { get; set; }
}

/// <summary>
/// Task family: glyphs rendered from installed fonts (<c>--fonts</c>, default Debian's DejaVu), an offline stand-in for
/// Omniglot that needs no download: 28 × 28, about a thousand classes of 20 distorted drawings each.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class GlyphsAttribute : TasksAttribute<GlyphTasks>
{
    /// <summary>Classes per task N (at least 2).</summary>
    public int Ways { get; set; } = ImageDefaults.Ways;

    /// <summary>Inner steps when adapting to a test episode (at least 1; 0: the training inner steps).</summary>
    public int TestSteps { get; set; }
}

/// <summary>
/// Task family: Fashion-MNIST (Xiao et al. 2017) from Debian's <c>dataset-fashion-mnist</c> package as an N-way family:
/// labels 0–4 meta-train, 5–9 meta-test.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class FashionMnistAttribute : TasksAttribute<FashionMnistTasks>
{
    /// <summary>Classes per task N (2 to 5: five classes per side of the split).</summary>
    public int Ways { get; set; } = ImageDefaults.Ways;

    /// <summary>Inner steps when adapting to a test episode (at least 1; 0: the training inner steps).</summary>
    public int TestSteps { get; set; }
}

/// <summary>Defaults of the image families.</summary>
public static class ImageDefaults
{
    /// <summary>Classes per task.</summary>
    public const int Ways = 5;

    /// <summary>Support images per class (one-shot).</summary>
    public const int Shots = 1;

    /// <summary>Query images per class during meta-training and testing.</summary>
    public const int QueryShots = 15;

    /// <summary>Tasks per meta-batch (MAML's Mini-ImageNet setting).</summary>
    public const int MetaBatch = 4;

    /// <summary>Test episodes of the final evaluation (the literature's 600).</summary>
    public const int EvalEpisodes = 600;

    /// <summary>Where the Omniglot experiments look for data.</summary>
    public const string OmniglotFolder = "data/omniglot";

    /// <summary>Where the Mini-ImageNet experiments look for data.</summary>
    public const string MiniImageNetFolder = "data/mini-imagenet";

    /// <summary>Where the glyph experiments look for fonts.</summary>
    public const string FontFolder = GlyphOptions.DefaultFontFolder;

    /// <summary>Where the Fashion-MNIST experiments look for data.</summary>
    public const string FashionMnistFolder = FashionMnist.DefaultFolder;
}
