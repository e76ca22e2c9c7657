using System.Globalization;
using Meta.Hosting;
using Meta.Tasks.Data;

namespace Meta.Tasks.Images;

/// <summary>
/// N-way K-shot classification over any folder of images with one subfolder per class — your own data, no code:
/// <c>[Tasks&lt;ImageFolderTasks&gt;]</c>. Images are decoded once (PNG, JPEG, BMP, GIF, WebP), scaled to
/// <see cref="ImageSize"/> × <see cref="ImageSize"/> by area averaging, grey (<see cref="Channels"/> 1) or RGB (3), and
/// held in memory. The meta-test classes are either the folder's own <c>test/</c> split (<c>train/&lt;class&gt;/</c> and
/// <c>test/&lt;class&gt;/</c>) or, when the folder holds the class folders directly, a <see cref="TestFraction"/> of
/// them chosen by a stable hash of the class names (the same classes on every run, whatever the seed).
/// </summary>
[System.ComponentModel.DisplayName("image-folder few-shot classification")]
public sealed class ImageFolderTasks : FewShotImageTasks
{
    /// <summary>The file extensions read as images (case-insensitive); other files in a class folder are ignored.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>The accepted layouts, as printed in error messages.</summary>
    public const string ExpectedLayout =
        "<folder>/<class>/<image> (split by --test-fraction) or <folder>/train/<class>/<image> and <folder>/test/<class>/<image>; images .png .jpg .jpeg .bmp .gif .webp";

    private const string Dataset = "image-folder";

    /// <summary>The image folder.</summary>
    [Option("Image folder: one subfolder per class, or train/ and test/ each holding class folders.", NotEmpty = true)]
    public string Data { get; set; } = "data/images";

    /// <summary>The side, in pixels, every image is scaled to.</summary>
    [Option("Side in pixels every image is scaled to (square).", Minimum = 1)]
    public int ImageSize { get; set; } = 28;

    /// <summary>Image channels: 1 (grey) or 3 (RGB).</summary>
    [Option("Image channels: 1 (grey) or 3 (RGB).", Minimum = 1)]
    public int Channels { get; set; } = 1;

    /// <summary>Without train/ and test/ subfolders: the fraction of the classes held out for meta-testing.</summary>
    [Option("Fraction of the classes held out for the final test when the folder has no train/ and test/ split, in (0, 1).", Positive = true)]
    public double TestFraction { get; set; } = 0.2;

    /// <summary>How the loaded classes were split (after <see cref="FewShotImageTasks.Prepare"/>): "folders" or "ratio".</summary>
    public string? SplitKind { get; private set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Channels is not (1 or 3)) throw OptionException.Rejected("--channels", Channels.ToString(CultureInfo.InvariantCulture), "1 (grey) or 3 (RGB)");
        if (!(TestFraction < 1)) throw OptionException.Rejected("--test-fraction", TestFraction.ToString("R", CultureInfo.InvariantCulture), "a fraction above 0 and below 1");
    }

    /// <inheritdoc />
    protected override ClassSplit Load()
    {
        Validate();
        var root = DataFiles.Resolve(Data);
        if (!Directory.Exists(root))
        {
            if (File.Exists(root)) throw DatasetException.BadLayout(Dataset, root, "is a file, not a folder", ExpectedLayout, "--data");
            throw DatasetException.Missing(Dataset, Data, ExpectedLayout, "--data");
        }
        var trainFolder = Path.Combine(root, "train");
        var testFolder = Path.Combine(root, "test");
        List<ClassFolder> train, test;
        if (Directory.Exists(trainFolder) || Directory.Exists(testFolder))
        {
            if (!Directory.Exists(trainFolder) || !Directory.Exists(testFolder))
                throw DatasetException.BadLayout(Dataset, root, $"has a {(Directory.Exists(trainFolder) ? "train/" : "test/")} folder but no {(Directory.Exists(trainFolder) ? "test/" : "train/")} folder", ExpectedLayout, "--data");
            train = ClassFolders(trainFolder, "train/");
            test = ClassFolders(testFolder, "test/");
            CheckSide(train, trainFolder, "meta-training (train/)", byFolder: true);
            CheckSide(test, testFolder, "meta-test (test/)", byFolder: true);
            SplitKind = "folders";
        }
        else
        {
            var all = ClassFolders(root, "");
            if (all.Count < 2)
                throw DatasetException.BadLayout(Dataset, root, $"has {all.Count} class folder{(all.Count == 1 ? "" : "s")}; a split into meta-training and meta-test classes needs at least 2", ExpectedLayout, "--data");
            var held = DataFiles.HeldOut([.. all.Select(c => c.Name)], TestFraction);
            train = [.. all.Where((_, i) => !held[i])];
            test = [.. all.Where((_, i) => held[i])];
            CheckSide(train, root, $"meta-training side ({train.Count} of {all.Count} classes with --test-fraction {TestFraction.ToString(CultureInfo.InvariantCulture)})", byFolder: false);
            CheckSide(test, root, $"meta-test side ({test.Count} of {all.Count} classes with --test-fraction {TestFraction.ToString(CultureInfo.InvariantCulture)})", byFolder: false);
            SplitKind = "ratio";
        }
        var trainSet = Decode(train);
        try
        {
            return new ClassSplit(trainSet, Decode(test));
        }
        catch
        {
            trainSet.Dispose();
            throw;
        }
    }

    private sealed record ClassFolder(string Name, string Path, List<string> Files);

    private List<ClassFolder> ClassFolders(string folder, string prefix)
    {
        var directories = Directory.GetDirectories(folder).Where(d => !System.IO.Path.GetFileName(d).StartsWith('.')).ToArray();
        Array.Sort(directories, StringComparer.Ordinal);
        var classes = new List<ClassFolder>();
        foreach (var directory in directories)
        {
            var files = Directory.GetFiles(directory)
                .Where(f => !System.IO.Path.GetFileName(f).StartsWith('.') && Extensions.Contains(System.IO.Path.GetExtension(f).ToLowerInvariant()))
                .ToList();
            files.Sort(StringComparer.Ordinal);
            classes.Add(new ClassFolder(prefix + System.IO.Path.GetFileName(directory), directory, files));
        }
        return classes;
    }

    private void CheckSide(List<ClassFolder> classes, string folder, string side, bool byFolder)
    {
        if (classes.Count < Ways)
        {
            var fix = byFolder ? "add class folders or lower --ways" : "add class folders, lower --ways or change --test-fraction";
            throw DatasetException.BadLayout(Dataset, folder, $"gives the {side} {classes.Count} class{(classes.Count == 1 ? "" : "es")}; --ways {Ways} needs at least {Ways}; {fix}", ExpectedLayout, "--data");
        }
        var needed = Shots + QueryShots;
        foreach (var c in classes)
        {
            if (c.Files.Count < needed)
                throw new DatasetException(
                    $"{Dataset} class folder '{c.Path}' has {c.Files.Count} image{(c.Files.Count == 1 ? "" : "s")}; --shots {Shots} with --query-shots {QueryShots} need at least {needed} per class; add images or lower --shots / --query-shots (--data)");
        }
    }

    private ImageClassDataset Decode(List<ClassFolder> classes)
    {
        byte[] pixels;
        try
        {
            pixels = ImageDecoder.DecodeAll([.. classes.SelectMany(c => c.Files)], Channels, ImageSize);
        }
        catch (DatasetException e)
        {
            throw new DatasetException($"{e.Message}; expected an image file (PNG, JPEG, BMP, GIF or WebP) in every class folder of --data; remove or replace it");
        }
        return ImageClassDataset.FromPixels(pixels, [.. classes.Select(c => (c.Name, c.Files.Count))], Channels, ImageSize, ImageSize);
    }
}
