using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tasks.Images;

/// <summary>
/// N-way K-shot classification tasks over the classes of an <see cref="ImageClassDataset"/>. A task draws N distinct
/// classes (uniformly, without replacement) and K + Q distinct images of each; the first K per class are the support
/// set, the other Q the query set, so support and query never share an image. Labels are the class's position in the
/// task, 0..N−1, in a random order. Tasks come task-batched for the functional core:
/// support [T, N·K, C, H, W] with labels [T, N·K], query [T, N·Q, C, H, W] with labels [T, N·Q], images grouped by label.
/// </summary>
/// <remarks>
/// All randomness comes from the caller's <see cref="Generator"/>, so the episodes are fixed by its seed, and a run can
/// checkpoint the stream with <c>generator.get_state()</c> and resume it with <c>set_state</c>.
/// </remarks>
public sealed class FewShotFamily
{
    /// <summary>Creates the family; throws <see cref="DatasetException"/> if the dataset cannot supply such tasks.</summary>
    /// <param name="dataset">The classes to draw from (not owned).</param>
    /// <param name="ways">Classes per task N.</param>
    /// <param name="shots">Support images per class K.</param>
    /// <param name="queries">Query images per class Q.</param>
    /// <param name="dtype">Floating-point type of the images.</param>
    /// <param name="source">What the dataset is, for messages (e.g. "Omniglot test split").</param>
    public FewShotFamily(ImageClassDataset dataset, int ways, int shots, int queries, ScalarType dtype = ScalarType.Float32, string source = "the dataset")
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (ways < 1) throw new ArgumentOutOfRangeException(nameof(ways), ways, "at least one way");
        if (shots < 1) throw new ArgumentOutOfRangeException(nameof(shots), shots, "at least one shot");
        if (queries < 1) throw new ArgumentOutOfRangeException(nameof(queries), queries, "at least one query image per class");
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16)) throw new ArgumentException($"images must be floating point, got {dtype}", nameof(dtype));
        if (ways > dataset.Classes)
            throw new DatasetException($"{ways}-way tasks need at least {ways} classes, but {source} has {dataset.Classes}");
        for (var c = 0; c < dataset.Classes; c++)
        {
            // In 64 bits: K + Q near int.MaxValue must not wrap around past this check.
            if (dataset.ImagesIn(c) < (long)shots + queries)
                throw new DatasetException(
                    $"class '{dataset.ClassNames[c]}' of {source} has {dataset.ImagesIn(c)} images; {shots}-shot tasks with {queries} query images per class need {(long)shots + queries}");
        }
        Dataset = dataset;
        Ways = ways;
        Shots = shots;
        Queries = queries;
        DType = dtype;
        Source = source;
    }

    /// <summary>The classes drawn from.</summary>
    public ImageClassDataset Dataset { get; }

    /// <summary>Classes per task N.</summary>
    public int Ways { get; }

    /// <summary>Support images per class K.</summary>
    public int Shots { get; }

    /// <summary>Query images per class Q.</summary>
    public int Queries { get; }

    /// <summary>Floating-point type of the images.</summary>
    public ScalarType DType { get; }

    /// <summary>What the dataset is, for messages.</summary>
    public string Source { get; }

    /// <summary>The image shape [C, H, W].</summary>
    public long[] ImageShape => [Dataset.Channels, Dataset.Height, Dataset.Width];

    /// <summary>The dataset class of each task's labels: [T, N] int64 indices into <see cref="Dataset"/>.</summary>
    public Tensor DrawClasses(int tasks, Generator generator)
    {
        if (tasks < 1) throw new ArgumentOutOfRangeException(nameof(tasks), tasks, "draw at least one task");
        // The top N of independent uniform keys is a uniform N-subset in uniform order: N distinct classes per task.
        return rand([tasks, Dataset.Classes], ScalarType.Float64, generator: generator).topk(Ways, dim: 1).indexes;
    }

    /// <summary>Draws <paramref name="tasks"/> tasks as one episode.</summary>
    public Episode Draw(int tasks, Generator generator) => Draw(tasks, generator, out _);

    /// <summary>Draws <paramref name="tasks"/> tasks as one episode; <paramref name="classes"/> [T, N] says which dataset class has which label.</summary>
    public Episode Draw(int tasks, Generator generator, out Tensor classes)
    {
        classes = DrawClasses(tasks, generator);
        var perClass = Shots + Queries;
        var images = Dataset.Sample(classes, perClass, generator, DType); // [T, N, K + Q, C, H, W]
        var (c, h, w) = ((long)Dataset.Channels, (long)Dataset.Height, (long)Dataset.Width);
        var supportX = images.narrow(2, 0, Shots).reshape(tasks, Ways * Shots, c, h, w);
        var queryX = images.narrow(2, Shots, Queries).reshape(tasks, Ways * Queries, c, h, w);
        return new Episode(supportX, Labels(tasks, Shots), queryX, Labels(tasks, Queries));
    }

    private Tensor Labels(int tasks, int perClass) =>
        arange(Ways, ScalarType.Int64).view(1, Ways, 1).expand(tasks, Ways, perClass).reshape(tasks, Ways * perClass);
}
