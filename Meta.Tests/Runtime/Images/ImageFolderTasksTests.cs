using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks.Images;
using Meta.Tests.Runtime.Algorithms;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

/// <summary>Writes image folders of tiny PNGs: each class a fixed random pattern, each image that pattern plus noise.</summary>
internal static class ImageFolders
{
    /// <summary>Writes <paramref name="perClass"/> images of <paramref name="side"/> × <paramref name="side"/> into <c>folder/&lt;class&gt;/</c> for each class name.</summary>
    public static void Write(string folder, IEnumerable<string> classes, int perClass, int side = 8, int seed = 1, bool colour = false)
    {
        var random = new Random(seed);
        foreach (var name in classes)
        {
            var directory = Path.Combine(folder, name);
            Directory.CreateDirectory(directory);
            var pattern = Enumerable.Range(0, side * side * 3).Select(_ => random.Next(256)).ToArray();
            for (var i = 0; i < perClass; i++)
            {
                using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque);
                for (var y = 0; y < side; y++)
                    for (var x = 0; x < side; x++)
                    {
                        byte Noisy(int c) => (byte)Math.Clamp(pattern[(y * side + x) * 3 + c] + random.Next(-30, 31), 0, 255);
                        var grey = Noisy(0);
                        bitmap.SetPixel(x, y, colour ? new SKColor(Noisy(0), Noisy(1), Noisy(2)) : new SKColor(grey, grey, grey));
                    }
                using var file = File.Create(Path.Combine(directory, $"img{i:00}.png"));
                Assert.True(bitmap.Encode(file, SKEncodedImageFormat.Png, 100));
            }
        }
    }

    /// <summary>Class names c00, c01, ….</summary>
    public static IEnumerable<string> Names(int count, string prefix = "c") => Enumerable.Range(0, count).Select(i => $"{prefix}{i:00}");
}

[Collection(TorchCollection.Name)]
public sealed class ImageFolderTasksTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private ImageFolderTasks Family(string? data = null, int ways = 2, int shots = 1, int queries = 2, int size = 8, int channels = 1, double fraction = 0.34) =>
        new() { Data = data ?? _folder.Path, Ways = ways, Shots = shots, QueryShots = queries, ImageSize = size, Channels = channels, TestFraction = fraction };

    [Fact]
    public void Class_folders_split_by_ratio_give_task_batched_episodes()
    {
        ImageFolders.Write(_folder.Path, ImageFolders.Names(6), perClass: 4, side: 12);
        File.WriteAllText(_folder.Combine("c00", "notes.txt"), "not an image, ignored");
        using var scope = NewDisposeScope();
        using var family = Family(size: 8);
        family.Prepare(new FamilyContext(1));
        Assert.Equal("ratio", family.SplitKind);
        Assert.Equal(4, family.Classes.Train.Classes);
        Assert.Equal(2, family.Classes.Test.Classes);
        Assert.Equal(4, family.Classes.Train.ImagesIn(0));
        Assert.Equal("[1, 8, 8] → 2 classes", family.Shape.ToString());
        using var g = new Generator(3);
        var episode = family.Draw(5, g);
        Assert.Equal(new long[] { 5, 2, 1, 8, 8 }, episode.SupportX.shape);
        Assert.Equal(new long[] { 5, 4, 1, 8, 8 }, episode.QueryX.shape);
        Assert.Equal(new long[] { 5, 4 }, episode.QueryY.shape);
        Assert.InRange(episode.QueryX.max().ToDouble(), 0.05, 1.0);
    }

    [Fact]
    public void The_ratio_split_is_the_same_for_every_seed_and_follows_the_fraction()
    {
        ImageFolders.Write(_folder.Path, ImageFolders.Names(10), perClass: 3);
        using var a = Family(fraction: 0.3);
        a.Prepare(new FamilyContext(1));
        using var b = Family(fraction: 0.3);
        b.Prepare(new FamilyContext(12345));
        Assert.Equal(3, a.Classes.Test.Classes);
        Assert.Equal(a.Classes.Test.ClassNames, b.Classes.Test.ClassNames);
        Assert.Empty(a.Classes.Train.ClassNames.Intersect(a.Classes.Test.ClassNames));
        Assert.Equal(10, a.Classes.Train.Classes + a.Classes.Test.Classes);
    }

    [Fact]
    public void Train_and_test_folders_split_by_folder_in_rgb()
    {
        ImageFolders.Write(_folder.Combine("train"), ImageFolders.Names(3, "a"), perClass: 3, colour: true);
        ImageFolders.Write(_folder.Combine("test"), ImageFolders.Names(2, "b"), perClass: 3, colour: true);
        using var scope = NewDisposeScope();
        using var family = Family(channels: 3, size: 4);
        family.Prepare(new FamilyContext(1));
        Assert.Equal("folders", family.SplitKind);
        Assert.Equal(["train/a00", "train/a01", "train/a02"], family.Classes.Train.ClassNames);
        Assert.Equal(["test/b00", "test/b01"], family.Classes.Test.ClassNames);
        Assert.Equal("[3, 4, 4] → 2 classes", family.Shape.ToString());
        using var g = new Generator(3);
        Assert.Equal(new long[] { 2, 2, 3, 4, 4 }, family.Draw(2, g).SupportX.shape);
    }

    [Fact]
    public void A_solid_red_image_decodes_to_the_red_channel()
    {
        Directory.CreateDirectory(_folder.Combine("red"));
        Directory.CreateDirectory(_folder.Combine("blue"));
        for (var i = 0; i < 3; i++)
        {
            ImageTestData.WriteColourImage(_folder.Combine("red", $"{i}.png"), 6, new SKColor(255, 0, 0));
            ImageTestData.WriteColourImage(_folder.Combine("blue", $"{i}.jpg"), 6, new SKColor(0, 0, 255));
        }
        using var scope = NewDisposeScope();
        using var family = Family(ways: 1, channels: 3, size: 3, fraction: 0.5);
        family.Prepare(new FamilyContext(1));
        var all = new[] { family.Classes.Train, family.Classes.Test };
        var red = all.Single(d => d.ClassNames[0] == "red").Images(0);
        Assert.Equal(new long[] { 3, 3, 3, 3 }, red.shape);
        Assert.Equal(1.0, red[.., 0].min().ToDouble(), 3);
        Assert.Equal(0.0, red[.., 2].max().ToDouble(), 3);

        // Colour images read as grey become their luma (0.299 R + 0.587 G + 0.114 B).
        using var grey = Family(ways: 1, channels: 1, size: 3, fraction: 0.5);
        grey.Prepare(new FamilyContext(1));
        var greyRed = new[] { grey.Classes.Train, grey.Classes.Test }.Single(d => d.ClassNames[0] == "red").Images(0);
        Assert.Equal(new long[] { 3, 1, 3, 3 }, greyRed.shape);
        Assert.Equal(76 / 255.0, greyRed.mean().ToDouble(), 3);
    }

    public static TheoryData<string, string[]> BadFolders => new()
    {
        { "missing", ["does not exist", "--data", "<class>"] },
        { "one class", ["has 1 class folder", "at least 2", "--data"] },
        { "too few classes on the test side", ["meta-test (test/)", "1 class", "--ways 2", "--data"] },
        { "too few classes after the ratio", ["meta-test side", "--test-fraction", "--ways 2"] },
        { "train without test", ["has a train/ folder but no test/ folder", "--data"] },
        { "too few images", ["c03", "has 2 images", "--shots 1 with --query-shots 2 need at least 3"] },
        { "unreadable image", ["broken.png", "not a readable image", "--data"] },
    };

    [Theory]
    [MemberData(nameof(BadFolders))]
    public void Bad_folders_are_one_line_dataset_errors_naming_the_folder_or_file(string what, string[] expected)
    {
        var data = _folder.Path;
        switch (what)
        {
            case "missing":
                data = _folder.Combine("absent");
                break;
            case "one class":
                ImageFolders.Write(_folder.Path, ["only"], perClass: 3);
                break;
            case "too few classes on the test side":
                ImageFolders.Write(_folder.Combine("train"), ImageFolders.Names(3), perClass: 3);
                ImageFolders.Write(_folder.Combine("test"), ImageFolders.Names(1), perClass: 3);
                break;
            case "too few classes after the ratio":
                ImageFolders.Write(_folder.Path, ImageFolders.Names(4), perClass: 3); // 0.34 · 4 → 1 test class
                break;
            case "train without test":
                ImageFolders.Write(_folder.Combine("train"), ImageFolders.Names(3), perClass: 3);
                break;
            case "too few images":
                ImageFolders.Write(_folder.Path, ImageFolders.Names(3), perClass: 3);
                ImageFolders.Write(_folder.Path, ["c03"], perClass: 2);
                ImageFolders.Write(_folder.Path, ["c04", "c05"], perClass: 3);
                break;
            case "unreadable image":
                ImageFolders.Write(_folder.Path, ImageFolders.Names(6), perClass: 3);
                File.WriteAllText(_folder.Combine("c02", "broken.png"), "this is not a PNG");
                break;
        }
        using var family = Family(data);
        var error = Assert.Throws<DatasetException>(() => family.Prepare(new FamilyContext(1)));
        Assert.DoesNotContain('\n', error.Message);
        foreach (var part in expected) Assert.Contains(part, error.Message);
    }

    [Theory]
    [InlineData(2, 0.3, "--channels", "1 (grey) or 3 (RGB)")]
    [InlineData(1, 1.0, "--test-fraction", "below 1")]
    public void Bad_settings_are_option_errors(int channels, double fraction, string option, string accepted)
    {
        ImageFolders.Write(_folder.Path, ImageFolders.Names(6), perClass: 3);
        using var family = Family(channels: channels, fraction: fraction);
        var error = Assert.Throws<OptionException>(() => family.Prepare(new FamilyContext(1)));
        Assert.Contains(option, error.Message);
        Assert.Contains(accepted, error.Message);
    }

    [Fact]
    public void Maml_meta_trained_on_the_folder_lowers_the_query_loss()
    {
        ImageFolders.Write(_folder.Path, ImageFolders.Names(12), perClass: 5, side: 10, seed: 4);
        using var scope = NewDisposeScope();
        using var family = Family(ways: 3, shots: 1, queries: 2, size: 8, fraction: 0.25);
        family.Prepare(new FamilyContext(1));
        var network = new ConvNetwork { Filters = 8, Blocks = 2 }.Create(new NetworkContext(family.Shape, 0));
        var algorithm = new MamlAlgorithm { InnerSteps = 1, InnerLr = 0.4, FirstOrder = true }.Create(new AlgorithmContext(network, family.Loss, null!));
        using var g = new Generator(9);
        using var theta = network.Initialize(WeightInit.PyTorch, g);
        using var meta = algorithm.InitialMetaParameters(theta);
        using var optimiser = new Meta.Training.Adam(meta, 0.003);
        var losses = new List<double>();
        for (var i = 0; i < 40; i++)
        {
            using var iteration = NewDisposeScope();
            var step = algorithm.MetaStep(meta, family.Draw(8, g));
            optimiser.Step(step.Gradient);
            losses.Add(step.MetaLoss.ToDouble());
        }
        output.WriteLine($"meta-loss: first 8 {losses.Take(8).Average():0.000}, last 8 {losses.TakeLast(8).Average():0.000}");
        AlgorithmFixtures.AssertFalls(losses, 0.7, window: 8);
    }
}
