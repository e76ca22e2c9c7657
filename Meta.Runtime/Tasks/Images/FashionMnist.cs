using System.Buffers.Binary;
using System.IO.Compression;

namespace Meta.Tasks.Images;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017) as few-shot classes, read from the gzip-compressed IDX files of Debian's
/// <c>dataset-fashion-mnist</c> package: 70,000 28 × 28 grey images (training and test files pooled) in 10 classes,
/// divided into meta-training and meta-test classes.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The expected folder layout, as printed in error messages.</summary>
    public const string ExpectedLayout =
        "<folder>/{train,t10k}-images-idx3-ubyte.gz and <folder>/{train,t10k}-labels-idx1-ubyte.gz (apt install dataset-fashion-mnist puts them in " + DefaultFolder + ")";

    /// <summary>The ten class names, by label.</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The default meta-test classes: labels 5–9 (sandal, shirt, sneaker, bag, ankle boot); 0–4 are meta-training.</summary>
    public static readonly int[] DefaultTestClasses = [5, 6, 7, 8, 9];

    /// <summary>All ten classes (training and test files pooled), class i = label i.</summary>
    public static ImageClassDataset Load(string folder = DefaultFolder, string option = "--data")
    {
        if (!Directory.Exists(folder)) throw DatasetException.Missing("Fashion-MNIST", folder, ExpectedLayout, option);
        var parts = new[] { "train", "t10k" }.Select(prefix =>
        {
            var images = Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz");
            var labels = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz");
            foreach (var file in new[] { images, labels })
                if (!File.Exists(file)) throw DatasetException.BadLayout("Fashion-MNIST", folder, $"has no {Path.GetFileName(file)}", ExpectedLayout, option);
            var (pixels, count, rows, cols) = ReadImages(images);
            var y = ReadLabels(labels);
            if (y.Length != count) throw DatasetException.Corrupt(labels, $"{y.Length} labels for {count} images in {Path.GetFileName(images)}");
            if (rows != 28 || cols != 28) throw DatasetException.Corrupt(images, $"images are {rows} × {cols}, expected 28 × 28");
            return (pixels, y);
        }).ToArray();

        const int imageBytes = 28 * 28;
        var perClass = new List<int>[ClassNames.Length];
        for (var c = 0; c < perClass.Length; c++) perClass[c] = [];
        var sources = new List<(byte[] Pixels, int Index)>();
        foreach (var (pixels, labels) in parts)
        {
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] >= ClassNames.Length) throw DatasetException.Corrupt(folder, $"label {labels[i]} is not a Fashion-MNIST class (0–9)");
                perClass[labels[i]].Add(sources.Count);
                sources.Add((pixels, i));
            }
        }
        var present = Enumerable.Range(0, ClassNames.Length).Where(c => perClass[c].Count > 0).ToArray();
        var output = new byte[(long)sources.Count * imageBytes];
        var at = 0L;
        foreach (var c in present)
            foreach (var s in perClass[c])
            {
                var (pixels, index) = sources[s];
                Array.Copy(pixels, (long)index * imageBytes, output, at, imageBytes);
                at += imageBytes;
            }
        if (present.Length != ClassNames.Length)
            throw DatasetException.BadLayout("Fashion-MNIST", folder, $"has images of {present.Length} of the 10 classes", ExpectedLayout, option);
        return ImageClassDataset.FromPixels(output, [.. present.Select(c => (ClassNames[c], perClass[c].Count))], 1, 28, 28);
    }

    /// <summary>Meta-training classes (all but <paramref name="testClasses"/>) and meta-test classes (<paramref name="testClasses"/>, default 5–9).</summary>
    public static ClassSplit LoadSplit(string folder = DefaultFolder, string option = "--data", IReadOnlyCollection<int>? testClasses = null)
    {
        var test = (testClasses ?? DefaultTestClasses).ToArray();
        if (test.Length == 0 || test.Any(c => c is < 0 or > 9) || test.Distinct().Count() != test.Length || test.Length == ClassNames.Length)
            throw new ArgumentException("meta-test classes must be distinct labels 0–9, at least one and not all ten", nameof(testClasses));
        using var all = Load(folder, option);
        return new ClassSplit(all.Select(Enumerable.Range(0, 10).Where(c => !test.Contains(c))), all.Select(test));
    }

    /// <summary>Reads a gzip-compressed IDX image file (magic 0x00000803): pixels [count, rows, cols] and the dimensions.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Columns) ReadImages(string path)
    {
        var data = Decompress(path);
        var dims = Header(path, data, 0x0803, 3);
        var (count, rows, cols) = (dims[0], dims[1], dims[2]);
        var length = (long)count * rows * cols;
        if (data.Length - 16 != length) throw DatasetException.Corrupt(path, $"the header promises {count} images of {rows} × {cols} ({length} bytes) but {data.Length - 16} follow");
        return (data[16..], count, rows, cols);
    }

    /// <summary>Reads a gzip-compressed IDX label file (magic 0x00000801).</summary>
    public static byte[] ReadLabels(string path)
    {
        var data = Decompress(path);
        var count = Header(path, data, 0x0801, 1)[0];
        if (data.Length - 8 != count) throw DatasetException.Corrupt(path, $"the header promises {count} labels but {data.Length - 8} follow");
        return data[8..];
    }

    private static byte[] Decompress(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var memory = new MemoryStream();
            gzip.CopyTo(memory);
            return memory.ToArray();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw DatasetException.Corrupt(path, $"not a readable gzip file ({e.Message})");
        }
    }

    private static int[] Header(string path, byte[] data, int magic, int dimensions)
    {
        var headerBytes = 4 + 4 * dimensions;
        if (data.Length < headerBytes) throw DatasetException.Corrupt(path, "too short for an IDX header");
        var found = BinaryPrimitives.ReadInt32BigEndian(data);
        if (found != magic) throw DatasetException.Corrupt(path, $"IDX magic number 0x{found:X8}, expected 0x{magic:X8}");
        var dims = new int[dimensions];
        for (var d = 0; d < dimensions; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * d));
            if (dims[d] < 0) throw DatasetException.Corrupt(path, $"negative dimension {dims[d]} in the IDX header");
        }
        return dims;
    }
}
