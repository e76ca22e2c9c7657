namespace Meta.Tasks.Images;

/// <summary>
/// Reads Mini-ImageNet (Vinyals et al. 2016; Ravi &amp; Larochelle's 64 / 16 / 20-class split) in either of its two
/// common layouts: split folders <c>train/ val/ test/</c>, each <c>&lt;class&gt;/&lt;image&gt;</c>; or the split files
/// <c>train.csv val.csv test.csv</c> (header <c>filename,label</c>) over a flat <c>images/</c> folder. Images are
/// decoded as RGB, resized to <c>size</c> × <c>size</c> (84) by area averaging if they are not already, and held in
/// memory as 8-bit pixels.
/// </summary>
public static class MiniImageNetLoader
{
    /// <summary>The expected folder layouts, as printed in error messages.</summary>
    public const string ExpectedLayout =
        "<folder>/{train,val,test}/<class>/<image> (84 × 84 images), or <folder>/{train,val,test}.csv (header filename,label) with the images in <folder>/images/";

    /// <summary>The split names.</summary>
    public static readonly string[] Splits = ["train", "val", "test"];

    /// <summary>Loads one split (<c>train</c>, <c>val</c> or <c>test</c>); throws <see cref="DatasetException"/> on missing or bad data.</summary>
    /// <param name="folder">The data folder.</param>
    /// <param name="split">train, val or test.</param>
    /// <param name="option">The command-line option that sets <paramref name="folder"/>, named in errors.</param>
    /// <param name="size">Output side in pixels.</param>
    public static ImageClassDataset Load(string folder, string split, string option = "--data", int size = 84)
    {
        if (!Splits.Contains(split)) throw new ArgumentOutOfRangeException(nameof(split), split, "train, val or test");
        if (!Directory.Exists(folder)) throw DatasetException.Missing("Mini-ImageNet", folder, ExpectedLayout, option);
        var classes = Directory.Exists(Path.Combine(folder, split)) ? FromFolders(folder, split, option)
            : File.Exists(Path.Combine(folder, split + ".csv")) ? FromCsv(folder, split, option)
            : throw DatasetException.BadLayout("Mini-ImageNet", folder, $"has neither a {split}/ folder nor a {split}.csv file", ExpectedLayout, option);
        var pixels = ImageDecoder.DecodeAll([.. classes.SelectMany(c => c.Files)], 3, size);
        return ImageClassDataset.FromPixels(pixels, [.. classes.Select(c => (c.Name, c.Files.Count))], 3, size, size);
    }

    /// <summary>Loads the train and test splits.</summary>
    public static ClassSplit LoadTrainTest(string folder, string option = "--data", int size = 84)
    {
        var train = Load(folder, "train", option, size);
        try
        {
            return new ClassSplit(train, Load(folder, "test", option, size));
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    private sealed record ClassFiles(string Name, List<string> Files);

    private static List<ClassFiles> FromFolders(string folder, string split, string option)
    {
        var splitFolder = Path.Combine(folder, split);
        var classFolders = Directory.GetDirectories(splitFolder);
        Array.Sort(classFolders, StringComparer.Ordinal);
        if (classFolders.Length == 0)
            throw DatasetException.BadLayout("Mini-ImageNet", splitFolder, "has no class folders", ExpectedLayout, option);
        var classes = new List<ClassFiles>();
        foreach (var classFolder in classFolders)
        {
            var files = Directory.GetFiles(classFolder).Where(f => !Path.GetFileName(f).StartsWith('.')).ToList();
            files.Sort(StringComparer.Ordinal);
            if (files.Count == 0)
                throw DatasetException.BadLayout("Mini-ImageNet", classFolder, "has no images", ExpectedLayout, option);
            classes.Add(new ClassFiles($"{split}/{Path.GetFileName(classFolder)}", files));
        }
        return classes;
    }

    private static List<ClassFiles> FromCsv(string folder, string split, string option)
    {
        var csv = Path.Combine(folder, split + ".csv");
        var images = Path.Combine(folder, "images");
        if (!Directory.Exists(images))
            throw DatasetException.BadLayout("Mini-ImageNet", folder, $"has {split}.csv but no images/ folder", ExpectedLayout, option);
        var lines = File.ReadAllLines(csv);
        if (lines.Length == 0 || !lines[0].Trim().Equals("filename,label", StringComparison.OrdinalIgnoreCase))
            throw DatasetException.BadLayout("Mini-ImageNet", csv, "does not start with the header filename,label", ExpectedLayout, option);
        var byLabel = new Dictionary<string, ClassFiles>(StringComparer.Ordinal);
        var order = new List<ClassFiles>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            var comma = line.IndexOf(',', StringComparison.Ordinal);
            if (comma <= 0 || comma == line.Length - 1)
                throw DatasetException.BadLayout("Mini-ImageNet", csv, $"line {i + 1} is not filename,label", ExpectedLayout, option);
            var (file, label) = (line[..comma].Trim(), line[(comma + 1)..].Trim());
            var path = Path.Combine(images, file);
            if (!File.Exists(path))
                throw DatasetException.BadLayout("Mini-ImageNet", csv, $"line {i + 1} names '{file}', which is not in {images}", ExpectedLayout, option);
            if (!byLabel.TryGetValue(label, out var entry))
            {
                entry = new ClassFiles($"{split}/{label}", []);
                byLabel[label] = entry;
                order.Add(entry);
            }
            entry.Files.Add(path);
        }
        if (order.Count == 0) throw DatasetException.BadLayout("Mini-ImageNet", csv, "lists no images", ExpectedLayout, option);
        return order;
    }
}
