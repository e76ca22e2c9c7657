using Meta.Tasks.Images;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

[Collection(TorchCollection.Name)]
public sealed class OmniglotLoaderTests
{
    /// <summary>
    /// images_background: Alpha (3 characters), Beta (3); images_evaluation: Gamma (2); 3 drawings each, 105 × 105 1-bit.
    /// Character k of the whole list has ink in its top k+1 twelfths, rows below are paper.
    /// </summary>
    private static void WriteOmniglot(string root)
    {
        var k = 0;
        foreach (var (part, alphabet, characters) in new[] { ("images_background", "Alpha", 3), ("images_background", "Beta", 3), ("images_evaluation", "Gamma", 2) })
        {
            for (var c = 1; c <= characters; c++, k++)
            {
                var folder = Path.Combine(root, part, alphabet, $"character{c:00}");
                Directory.CreateDirectory(folder);
                var inkRows = 105 * (k + 1) / 12;
                for (var d = 1; d <= 3; d++)
                    ImageTestData.WriteOneBitPng(Path.Combine(folder, $"{k:0000}_{d:00}.png"), 105, 105, (_, y) => y >= inkRows);
            }
        }
    }

    [Fact]
    public void Conventional_split_shuffles_characters_and_adds_rotations_to_training_classes()
    {
        using var temp = new TempFolder();
        WriteOmniglot(temp.Path);
        using var split = OmniglotLoader.Load(temp.Path, OmniglotSplit.Conventional, trainCharacters: 5);

        Assert.Equal(20, split.Train.Classes);                   // 5 characters × 4 rotations
        Assert.Equal(3, split.Test.Classes);
        Assert.Equal((1, 28, 28), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.All(Enumerable.Range(0, 20), c => Assert.Equal(3, split.Train.ImagesIn(c)));
        var characters = split.Train.ClassNames.Where((_, i) => i % 4 == 0).Concat(split.Test.ClassNames).ToList();
        Assert.Equal(8, characters.Distinct().Count());           // every character in exactly one split
        Assert.Contains("images_evaluation/Gamma/character02", characters);
        Assert.EndsWith("@90", split.Train.ClassNames[1]);
        using var again = OmniglotLoader.Load(temp.Path, OmniglotSplit.Conventional, trainCharacters: 5);
        Assert.Equal(split.Test.ClassNames, again.Test.ClassNames); // the shuffle is seeded
        Assert.True(split.Train.Images(1).Same(split.Train.Images(0).rot90(1, (2, 3))));
    }

    [Fact]
    public void Images_are_resized_to_28_and_inverted_so_ink_is_one()
    {
        using var temp = new TempFolder();
        WriteOmniglot(temp.Path);
        using var split = OmniglotLoader.Load(temp.Path, OmniglotSplit.Alphabets, trainAlphabets: 2);
        Assert.Equal(6, split.Train.Classes);
        Assert.Equal(["images_evaluation/Gamma/character01", "images_evaluation/Gamma/character02"], split.Test.ClassNames);
        // Alpha/character02 is the second character overall: ink in rows 0–16 of 105. Output row i averages source rows
        // [3.75·i, 3.75·(i + 1)): rows 0–3 are ink, row 4 holds 2 ink rows of 3.75 (0.533), rows 5+ are paper.
        using var image = split.Train.Images(1)[0, 0];
        Assert.Equal(1.0, image[0].mean().ToDouble(), 6);
        Assert.Equal(1.0, image[3].mean().ToDouble(), 6);
        Assert.Equal(2 / 3.75, image[4].mean().ToDouble(), 2);
        Assert.Equal(0.0, image[5..].max().ToDouble(), 6);
    }

    [Fact]
    public void Missing_folders_name_the_layout_and_the_option()
    {
        using var temp = new TempFolder();
        var missing = Path.Combine(temp.Path, "nowhere");
        var e = Assert.Throws<DatasetException>(() => OmniglotLoader.Load(missing, option: "--data"));
        Assert.Contains($"'{missing}' does not exist", e.Message);
        Assert.Contains("images_background/<alphabet>/<character>/*.png", e.Message);
        Assert.Contains("point --data at the folder", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        Directory.CreateDirectory(Path.Combine(temp.Path, "images_background", "Alpha", "character01"));
        var layout = Assert.Throws<DatasetException>(() => OmniglotLoader.Load(temp.Path));
        Assert.Contains("has no .png images", layout.Message);
    }

    [Fact]
    public void A_corrupt_or_truncated_image_is_named()
    {
        using var temp = new TempFolder();
        WriteOmniglot(temp.Path);
        var corrupt = Path.Combine(temp.Path, "images_background", "Beta", "character02", "0004_02.png");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5]);
        var e = Assert.Throws<DatasetException>(() => OmniglotLoader.Load(temp.Path, trainCharacters: 5));
        Assert.StartsWith($"cannot read '{corrupt}'", e.Message);

        WriteOmniglot(temp.Path);
        var truncated = Path.Combine(temp.Path, "images_evaluation", "Gamma", "character01", "0006_03.png");
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.StartsWith($"cannot read '{truncated}'", Assert.Throws<DatasetException>(() => OmniglotLoader.Load(temp.Path, trainCharacters: 5)).Message);
    }

    [Fact]
    public void Too_few_characters_for_the_split_is_an_error()
    {
        using var temp = new TempFolder();
        WriteOmniglot(temp.Path);
        var e = Assert.Throws<DatasetException>(() => OmniglotLoader.Load(temp.Path));
        Assert.Contains("has 8 characters; the conventional split needs more than 1200", e.Message);
    }
}

[Collection(TorchCollection.Name)]
public sealed class MiniImageNetLoaderTests
{
    private static readonly SKColor[] Colours = [SKColors.Red, SKColors.Lime, SKColors.Blue];

    [Fact]
    public void Split_folders_give_one_class_per_folder_in_RGB()
    {
        using var temp = new TempFolder();
        for (var c = 0; c < 3; c++)
        {
            var folder = temp.Combine("test", $"n0{c}");
            Directory.CreateDirectory(folder);
            for (var i = 0; i < 2; i++) ImageTestData.WriteColourImage(Path.Combine(folder, $"img{i}.{(i == 0 ? "png" : "jpg")}"), 84, Colours[c]);
        }
        using var test = MiniImageNetLoader.Load(temp.Path, "test");
        Assert.Equal(["test/n00", "test/n01", "test/n02"], test.ClassNames);
        Assert.Equal((3, 84, 84), (test.Channels, test.Height, test.Width));
        using var green = test.Images(1);                         // PNG and JPEG
        Assert.Equal([2L, 3, 84, 84], green.shape);
        Assert.True((green.mean([0, 2, 3]) - tensor(new float[] { 0, 1, 0 })).abs().max().ToDouble() < 0.02);
    }

    [Fact]
    public void Csv_split_files_over_a_flat_images_folder_group_by_label_and_resize()
    {
        using var temp = new TempFolder();
        Directory.CreateDirectory(temp.Combine("images"));
        var lines = new List<string> { "filename,label" };
        for (var i = 0; i < 6; i++)
        {
            var file = $"n{i % 2}_{i:000}.png";
            ImageTestData.WriteColourImage(temp.Combine("images", file), 100, Colours[i % 2 * 2]);
            lines.Add($"{file},n0{i % 2}");
        }
        File.WriteAllLines(temp.Combine("train.csv"), lines);
        using var train = MiniImageNetLoader.Load(temp.Path, "train", size: 21);
        Assert.Equal(["train/n00", "train/n01"], train.ClassNames);
        Assert.Equal(3, train.ImagesIn(0));
        Assert.Equal(21, train.Height);
        Assert.Equal(1.0, train.Images(1)[.., 2].mean().ToDouble(), 6); // blue

        File.AppendAllLines(temp.Combine("train.csv"), ["missing.jpg,n01"]);
        var e = Assert.Throws<DatasetException>(() => MiniImageNetLoader.Load(temp.Path, "train"));
        Assert.Contains("line 8 names 'missing.jpg'", e.Message);
    }

    [Fact]
    public void Missing_data_names_both_layouts_and_the_option()
    {
        using var temp = new TempFolder();
        var e = Assert.Throws<DatasetException>(() => MiniImageNetLoader.Load(temp.Path, "val", option: "--mini-imagenet"));
        Assert.Contains("has neither a val/ folder nor a val.csv file", e.Message);
        Assert.Contains("{train,val,test}.csv (header filename,label)", e.Message);
        Assert.Contains("point --mini-imagenet at the folder", e.Message);
        Assert.Throws<DatasetException>(() => MiniImageNetLoader.Load(temp.Combine("absent"), "train"));
    }
}

[Collection(TorchCollection.Name)]
public sealed class FashionMnistTests
{
    /// <summary>Tiny IDX files: train has 2 images of each class, t10k 1; pixel 0 = label, pixel 1 = file, pixel 2 = index.</summary>
    private static void WriteIdx(string folder)
    {
        foreach (var (prefix, perClass) in new[] { ("train", 2), ("t10k", 1) })
        {
            var count = 10 * perClass;
            var pixels = new byte[count * 784];
            var labels = new byte[count];
            for (var i = 0; i < count; i++)
            {
                labels[i] = (byte)(i % 10);
                pixels[i * 784] = labels[i];
                pixels[i * 784 + 1] = (byte)(prefix == "train" ? 1 : 2);
                pixels[i * 784 + 2] = (byte)i;
            }
            ImageTestData.WriteIdxGz(Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz"), [count, 28, 28], pixels);
            ImageTestData.WriteIdxGz(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz"), [count], labels);
        }
    }

    [Fact]
    public void Idx_files_pool_into_ten_classes_split_into_training_and_test_classes()
    {
        using var temp = new TempFolder();
        WriteIdx(temp.Path);
        using var all = FashionMnist.Load(temp.Path);
        Assert.Equal(FashionMnist.ClassNames, all.ClassNames);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(3, all.ImagesIn(c)));
        using var bags = all.Images(8);
        var firstPixels = (bags[.., 0, 0, ..3] * 255).round().to_type(ScalarType.Int64).data<long>().ToArray();
        Assert.Equal([8, 1, 8, 8, 1, 18, 8, 2, 8], firstPixels);  // train images 8 and 18, then t10k image 8

        using var split = FashionMnist.LoadSplit(temp.Path);
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"], split.Train.ClassNames);
        Assert.Equal(["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], split.Test.ClassNames);
        using var custom = FashionMnist.LoadSplit(temp.Path, testClasses: [0, 9]);
        Assert.Equal(8, custom.Train.Classes);
    }

    [Fact]
    public void Bad_files_and_missing_folders_are_named()
    {
        using var temp = new TempFolder();
        WriteIdx(temp.Path);
        var labels = Path.Combine(temp.Path, "t10k-labels-idx1-ubyte.gz");
        ImageTestData.WriteIdxGz(labels, [10], new byte[10], magic: 0x0803);
        var e = Assert.Throws<DatasetException>(() => FashionMnist.Load(temp.Path));
        Assert.Equal($"cannot read '{labels}': IDX magic number 0x00000803, expected 0x00000801", e.Message);

        File.WriteAllBytes(labels, [1, 2, 3]);
        Assert.StartsWith($"cannot read '{labels}': not a readable gzip file", Assert.Throws<DatasetException>(() => FashionMnist.Load(temp.Path)).Message);

        var missing = Assert.Throws<DatasetException>(() => FashionMnist.Load(temp.Combine("absent"), "--data"));
        Assert.Contains("apt install dataset-fashion-mnist", missing.Message);
        Assert.Contains("point --data at the folder", missing.Message);
    }

    /// <summary>Debian's real files (70,000 images, 7,000 per class), when installed.</summary>
    [SkippableFact]
    public void Debians_fashion_mnist_loads_as_ten_classes_of_7000()
    {
        OptionalParts.RequireFashionMnist();
        using var scope = NewDisposeScope();
        using var split = FashionMnist.LoadSplit();
        Assert.Equal(5, split.Train.Classes);
        Assert.Equal(5, split.Test.Classes);
        Assert.All(Enumerable.Range(0, 5), c => Assert.Equal(7000, split.Train.ImagesIn(c)));
        Assert.Equal((1, 28, 28), (split.Train.Channels, split.Train.Height, split.Train.Width));
    }
}

[Collection(TorchCollection.Name)]
public sealed class GlyphDatasetTests
{
    [SkippableFact]
    public void Rendering_is_deterministic_by_seed_and_classes_are_distinct_letters()
    {
        OptionalParts.RequireDejaVuFonts();
        using var scope = NewDisposeScope();
        var options = new GlyphOptions(Drawings: 3, MaxClasses: 40, Seed: 7);
        using var a = GlyphDataset.Render(options);
        using var b = GlyphDataset.Render(options);
        using var c = GlyphDataset.Render(options with { Seed = 8 });

        Assert.Equal(40, a.Classes);
        Assert.Equal(40, a.ClassNames.Distinct().Count());
        Assert.Equal((1, 28, 28), (a.Channels, a.Height, a.Width));
        Assert.All(Enumerable.Range(0, 40), i => Assert.Equal(3, a.ImagesIn(i)));
        Assert.Equal(a.ClassNames, b.ClassNames);
        var imagesA = stack(Enumerable.Range(0, 40).Select(i => a.Images(i)).ToArray());
        Assert.True(imagesA.Same(stack(Enumerable.Range(0, 40).Select(i => b.Images(i)).ToArray())));
        Assert.False(imagesA.Same(stack(Enumerable.Range(0, 40).Select(i => c.Images(i)).ToArray())));
        // Every drawing has ink, none is all ink, and the three drawings of a class differ (distortions).
        var ink = imagesA.mean([2, 3, 4]);
        Assert.InRange(ink.min().ToDouble(), 0.01, 1);
        Assert.InRange(ink.max().ToDouble(), 0, 0.7);
        Assert.True((imagesA[.., 0] - imagesA[.., 1]).abs().sum([1, 2, 3]).min().ToDouble() > 0);
    }

    [SkippableFact]
    public void The_default_family_has_about_a_thousand_classes_split_three_to_one()
    {
        OptionalParts.RequireDejaVuFonts();
        using var split = GlyphDataset.RenderSplit(new GlyphOptions(Drawings: 1));
        Assert.Equal(1000, split.Train.Classes + split.Test.Classes);
        Assert.Equal(250, split.Test.Classes);
        Assert.Empty(split.Train.ClassNames.Intersect(split.Test.ClassNames));
    }

    [Fact]
    public void A_missing_font_folder_is_a_dataset_error()
    {
        using var temp = new TempFolder();
        var e = Assert.Throws<DatasetException>(() => GlyphDataset.Render(new GlyphOptions(FontFolder: temp.Combine("none")), "--fonts"));
        Assert.Contains("TrueType fonts", e.Message);
        Assert.Contains("--fonts", e.Message);
        var empty = Assert.Throws<DatasetException>(() => GlyphDataset.Render(new GlyphOptions(FontFolder: temp.Path)));
        Assert.Contains("has no readable .ttf fonts", empty.Message);
    }
}
