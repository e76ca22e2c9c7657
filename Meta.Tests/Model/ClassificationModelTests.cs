using System.Globalization;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Hosting;
using Meta.Tasks.Images;
using SkiaSharp;
using Xunit.Abstractions;

namespace Meta.Tests.Model;

[Collection(TorchCollection.Name)]
public sealed class ClassificationModelTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-model-glyphs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [SkippableFact]
    public void A_short_glyph_run_adapts_to_labelled_images_and_labels_new_ones_through_the_API_and_the_command()
    {
        ModelParts.RequireFonts();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var family = new SmallGlyphTasks { Ways = 5, Shots = 1, QueryShots = 5 };
        var folder = ModelRuns.Train(_root, "glyph-model", family, new ConvNetwork { Filters = 16 },
            new MamlAlgorithm { FirstOrder = true, InnerSteps = 3, InnerLr = 0.4 }, iterations: 60, metaBatch: 4, metaLr: 3e-3, init: WeightInit.PyTorch);

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rendered and trained in {clock.Elapsed.TotalSeconds:0.0} s"));
        using var model = MetaModel.Load(folder);
        Assert.True(model.Shape.Classification);
        Assert.Equal(5, model.Shape.Outputs);
        // Five meta-test classes the run never saw: one labelled drawing each, ten drawings each to label.
        var test = family.Classes.Test;
        var support = new List<float[,,]>();
        var queries = new List<float[,,]>();
        var truth = new List<int>();
        for (var c = 0; c < 5; c++)
        {
            using var images = test.Images(c);
            support.Add(Image(images, 0));
            for (var i = 1; i <= 10; i++)
            {
                queries.Add(Image(images, i));
                truth.Add(c);
            }
        }
        using var adapted = model.Adapt([.. support], [0, 1, 2, 3, 4], steps: 5);
        var predicted = adapted.Predict([.. queries]);
        using var unadapted = model.Adapt([.. support], [0, 1, 2, 3, 4], steps: 0);
        var accuracy = predicted.Labels.Zip(truth).Count(p => p.First == p.Second) / 50.0;
        var before = unadapted.Predict([.. queries]).Labels.Zip(truth).Count(p => p.First == p.Second) / 50.0;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"glyphs, 5-way 1-shot, 50 query drawings of unseen classes: accuracy unadapted {before:P0}, after 5 steps {accuracy:P0} (chance 20 %)"));
        Assert.True(accuracy > 0.4, $"accuracy {accuracy} should be well above chance (0.2)");
        for (var i = 0; i < 50; i++)
            Assert.Equal(1.0, Enumerable.Range(0, 5).Sum(c => predicted.Probabilities[i, c]), 4);

        // The same through `adapt`: a folder per class for the support set, a folder of images to label.
        var supportFolder = Path.Combine(_root, "support");
        var queryFolder = Path.Combine(_root, "query");
        Directory.CreateDirectory(queryFolder);
        string[] names = ["a-alpha", "b-beta", "c-gamma", "d-delta", "e-epsilon"];   // classes are taken in ordinal folder order
        for (var c = 0; c < 5; c++)
        {
            Directory.CreateDirectory(Path.Combine(supportFolder, names[c]));
            WritePng(support[c], Path.Combine(supportFolder, names[c], "0.png"));
        }
        for (var i = 0; i < 50; i++) WritePng(queries[i], Path.Combine(queryFolder, $"q{i:D2}.png"));
        var output = Path.Combine(_root, "labels.csv");
        var error = new StringWriter();
        Assert.Equal(0, ModelCommands.Run(["adapt", folder, "--support", supportFolder, "--predict", queryFolder, "--steps", "5", "--output", output], TextWriter.Null, error));
        var lines = File.ReadAllLines(output);
        Assert.Equal("file,label,p_a-alpha,p_b-beta,p_c-gamma,p_d-delta,p_e-epsilon", lines[0]);
        Assert.Equal(predicted.Labels.Select(l => names[l]), lines.Skip(1).Select(l => l.Split(',')[1]));

        // A support folder with the wrong number of classes is one line, exit 2.
        Directory.Delete(Path.Combine(supportFolder, "e-epsilon"), recursive: true);
        error = new StringWriter();
        Assert.Equal(2, ModelCommands.Run(["adapt", folder, "--support", supportFolder, "--predict", queryFolder], TextWriter.Null, error));
        Assert.Contains("has 4 class folders; this model tells 5 classes apart", error.ToString(), StringComparison.Ordinal);
    }

    private static float[,,] Image(TorchSharp.torch.Tensor images, int index)
    {
        var image = images[index];
        var (c, h, w) = ((int)image.shape[0], (int)image.shape[1], (int)image.shape[2]);
        var result = new float[c, h, w];
        var flat = image.contiguous().data<float>().ToArray();
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    private static void WritePng(float[,,] image, string path)
    {
        var (h, w) = (image.GetLength(1), image.GetLength(2));
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        var stride = bitmap.RowBytes;
        var bytes = new byte[pixels.Length];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                bytes[y * stride + x] = (byte)Math.Round(image[0, y, x] * 255);
        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, bitmap.GetPixels(), bytes.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}

/// <summary>
/// A user's own task family (glyphs with fewer classes and drawings, so the test renders quickly): run folders rebuild
/// families from outside Meta.Runtime too.
/// </summary>
public sealed class SmallGlyphTasks : FewShotImageTasks
{
    /// <inheritdoc />
    protected override ClassSplit Load() => GlyphDataset.RenderSplit(new GlyphOptions(Drawings: 11, MaxClasses: 200), "--fonts");
}
