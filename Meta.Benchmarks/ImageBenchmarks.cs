using System.Diagnostics;
using System.Globalization;
using Meta;
using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Tasks;
using Meta.Tasks.Images;
using Meta.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Benchmarks;

/// <summary>
/// Image modes of the benchmark program:
/// <list type="bullet">
/// <item><c>conv4</c> — conv-4 MAML on Omniglot-shaped tasks against PyTorch: it/s, peak memory, FLOPs (<see cref="Conv4Comparison"/>).</item>
/// <item><c>glyphs-train</c> — trains MAML on the rendered glyph family and reports accuracy on 600 test episodes.</item>
/// <item><c>glyphs-sheet</c> — renders the glyph family, prints its classes per script and writes a contact sheet.</item>
/// </list>
/// </summary>
internal static class ImageBenchmarks
{
    public static readonly string[] Modes = ["conv4", "conv4-ops", "glyphs-train", "glyphs-sheet", "datasets"];

    public static int Run(string[] args) => args[0] switch
    {
        "conv4" => Conv4Comparison.Run(args),
        "conv4-ops" => Conv4Comparison.Ops(args),
        "glyphs-train" => GlyphsTrain(args),
        "glyphs-sheet" => GlyphsSheet(args),
        "datasets" => Datasets(args),
        _ => throw new ArgumentException(args[0]),
    };

    // ---------------------------------------------------------------- glyphs-train

    private static int GlyphsTrain(string[] args)
    {
        var minutes = Args.Double(args, "--minutes", 25);
        var maxIterations = Args.Int(args, "--iterations", int.MaxValue);
        var threads = Args.Int(args, "--threads", 1);
        var metaBatch = Args.Int(args, "--meta-batch", 32);
        var steps = Args.Int(args, "--inner-steps", 1);
        var testSteps = Args.Int(args, "--test-steps", 3);
        var innerLr = Args.Double(args, "--inner-lr", 0.4);
        var metaLr = Args.Double(args, "--meta-lr", 0.001);
        var queries = Args.Int(args, "--queries", 5);
        var filters = Args.Int(args, "--filters", 64);
        var firstOrder = args.Contains("--first-order");
        var seed = Args.Int(args, "--seed", 1);
        var logEvery = Args.Int(args, "--log-every", 50);
        var episodes = Args.Int(args, "--episodes", FewShotEvaluation.DefaultEpisodes);
        var probeEvery = Args.Int(args, "--probe-every", int.MaxValue);
        var testQueries = Args.String(args, "--test-queries", queries.ToString(CultureInfo.InvariantCulture))
            .Split(',').Select(q => int.Parse(q, CultureInfo.InvariantCulture)).ToArray();
        TorchRuntime.UseThreads(threads);
        var wall = Stopwatch.StartNew();

        Console.WriteLine($"command: dotnet run -c Release --project Meta.Benchmarks -- {string.Join(' ', args)}");
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores; native heap: {TorchRuntime.Allocator}");
        var render = Stopwatch.StartNew();
        using var split = GlyphDataset.RenderSplit(new GlyphOptions(Seed: (ulong)seed));
        Console.WriteLine($"glyphs: {split.Train.Classes} training and {split.Test.Classes} test classes × 20 drawings, rendered in {render.Elapsed.TotalSeconds:0.0} s");

        var train = new FewShotFamily(split.Train, 5, 1, queries, source: "glyph training classes");
        var network = new ConvNet(5, 1, 28, 28, filters);
        using var seeds = new RunSeeds(seed);
        using var theta = network.Initialize(WeightInit.PyTorch, seeds.Weights);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, steps, innerLr, firstOrder);
        using var adam = new Adam(theta, metaLr);
        Console.WriteLine($"{maml.Name}: conv-4 {filters} filters ({network.Layout.Count} parameters), 5-way 1-shot, {queries} queries/class, meta-batch {metaBatch}, " +
            $"{steps} inner step(s) at α = {innerLr}, Adam {metaLr}; budget {minutes} min");

        // Progress probe: 100 held-out episodes of the training classes (never the test classes), 1 step.
        var probe = new FewShotEvaluation(train, RunSeeds.Derive(seed, 5), 100);
        var budget = TimeSpan.FromMinutes(minutes);
        var clock = Stopwatch.StartNew();
        var iteration = 0;
        double lossSum = 0;
        var window = 0;
        while (iteration < maxIterations && clock.Elapsed < budget)
        {
            using var scope = NewDisposeScope();
            var episode = train.Draw(metaBatch, seeds.Tasks);
            var step = maml.MetaStep(theta, episode);
            adam.Step(step.Gradient);
            iteration++;
            lossSum += step.MetaLoss.ToDouble();
            window++;
            if (iteration % logEvery == 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"iteration {iteration,6}  {clock.Elapsed.TotalMinutes,5:0.0} min  {iteration / clock.Elapsed.TotalSeconds:0.00} it/s  meta-loss {lossSum / window:0.0000}"));
                lossSum = 0;
                window = 0;
            }
            if (iteration % probeEvery == 0)
                Console.WriteLine($"  probe (100 training-class episodes, {steps} step(s)): {probe.Evaluate(maml, theta, steps).Percent}");
        }
        var trainTime = clock.Elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {iteration} iterations in {trainTime.TotalMinutes:0.0} min ({iteration / trainTime.TotalSeconds:0.00} it/s)"));

        var evalClock = Stopwatch.StartNew();
        foreach (var q in testQueries)
        {
            var test = new FewShotFamily(split.Test, 5, 1, q, source: "glyph test classes");
            var evaluation = new FewShotEvaluation(test, RunSeeds.Derive(seed, 3), episodes);
            foreach (var s in new[] { 1, testSteps }.Distinct())
            {
                var score = evaluation.Evaluate(maml, theta, s);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"test: {score.Percent} accuracy over {score.Episodes} episodes of test classes, {q} queries/class, after {s} step(s) (query loss {score.Loss:0.000})"));
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evaluation {evalClock.Elapsed.TotalSeconds:0} s; wall time {wall.Elapsed.TotalMinutes:0.0} min; peak RSS {PeakRssMegabytes():0} MB"));
        return 0;
    }

    // ---------------------------------------------------------------- glyphs-sheet

    private static int GlyphsSheet(string[] args)
    {
        var output = Args.String(args, "--out", "glyphs.png");
        var clock = Stopwatch.StartNew();
        using var all = GlyphDataset.Render(new GlyphOptions());
        Console.WriteLine($"{all.Classes} classes rendered in {clock.Elapsed.TotalSeconds:0.0} s");
        foreach (var group in all.ClassNames.GroupBy(n => n.Split(' ')[0]))
            Console.WriteLine($"  {group.Key,-12} {group.Count(),4}  {string.Concat(group.Select(n => n.Split(' ')[2]).Take(40))}");
        // Contact sheet: 40 classes spread over the list, 10 drawings each.
        const int rows = 40, cols = 10, side = 28, gap = 2;
        using var bitmap = new SKBitmap(cols * (side + gap), rows * (side + gap), SKColorType.Gray8, SKAlphaType.Opaque);
        for (var r = 0; r < rows; r++)
        {
            using var images = all.Images(r * all.Classes / rows);
            var bytes = images.mul(255).to_type(ScalarType.Byte).data<byte>().ToArray();
            for (var c = 0; c < cols; c++)
                for (var y = 0; y < side; y++)
                    for (var x = 0; x < side; x++)
                        bitmap.SetPixel(c * (side + gap) + x, r * (side + gap) + y, new SKColor(bytes[c * side * side + y * side + x], bytes[c * side * side + y * side + x], bytes[c * side * side + y * side + x]));
        }
        using var file = File.Create(output);
        bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    // ---------------------------------------------------------------- datasets

    /// <summary>Load times: Fashion-MNIST from Debian's package, an Omniglot-sized synthetic tree of PNGs, the glyph family.</summary>
    private static int Datasets(string[] args)
    {
        var characters = Args.Int(args, "--characters", 1623);
        Console.WriteLine($"{Environment.ProcessorCount} cores");
        if (Directory.Exists(FashionMnist.DefaultFolder))
        {
            var clock = Stopwatch.StartNew();
            using var fashion = FashionMnist.LoadSplit();
            Console.WriteLine($"Fashion-MNIST: {fashion.Train.ImageCount} + {fashion.Test.ImageCount} images, {string.Join(", ", fashion.Test.ClassNames)} held out; loaded in {clock.Elapsed.TotalSeconds:0.0} s");
        }
        else
        {
            Console.WriteLine($"Fashion-MNIST: {FashionMnist.DefaultFolder} absent (apt install dataset-fashion-mnist)");
        }

        var root = Path.Combine(Path.GetTempPath(), "meta-omniglot-shaped-" + Environment.ProcessId);
        try
        {
            var write = Stopwatch.StartNew();
            var random = new Random(1);
            for (var c = 0; c < characters; c++)
            {
                var part = c < 964 ? "images_background" : "images_evaluation";
                var folder = Path.Combine(root, part, $"alphabet{c / 32:00}", $"character{c % 32:00}");
                Directory.CreateDirectory(folder);
                for (var d = 0; d < 20; d++)
                {
                    using var bitmap = new SKBitmap(105, 105, SKColorType.Gray8, SKAlphaType.Opaque);
                    using (var canvas = new SKCanvas(bitmap))
                    using (var paint = new SKPaint { Color = SKColors.Black, StrokeWidth = 3, IsStroke = true })
                    {
                        canvas.Clear(SKColors.White);
                        for (var s = 0; s < 4; s++) canvas.DrawLine(random.Next(105), random.Next(105), random.Next(105), random.Next(105), paint);
                    }
                    using var file = File.Create(Path.Combine(folder, $"{c:0000}_{d:00}.png"));
                    bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
                }
            }
            Console.WriteLine($"wrote {characters} × 20 Omniglot-shaped PNGs (105 × 105 grey) in {write.Elapsed.TotalSeconds:0.0} s");
            var load = Stopwatch.StartNew();
            using var split = OmniglotLoader.Load(root, OmniglotSplit.Conventional, trainCharacters: Math.Min(1200, characters - 1));
            Console.WriteLine($"Omniglot loader: {split.Train.Classes} training classes (with rotations), {split.Test.Classes} test classes, decoded and resized in {load.Elapsed.TotalSeconds:0.0} s; peak RSS {PeakRssMegabytes():0} MB");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        var render = Stopwatch.StartNew();
        using var glyphs = GlyphDataset.RenderSplit(new GlyphOptions());
        Console.WriteLine($"glyphs: {glyphs.Train.Classes} + {glyphs.Test.Classes} classes × 20 drawings rendered in {render.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>
    /// Resets VmHWM to the current resident set. First hands freed heap back to the kernel (glibc's <c>malloc_trim</c>):
    /// otherwise the memory an earlier, larger row freed stays resident and becomes the next row's "peak".
    /// </summary>
    internal static void ResetPeakRss()
    {
        try
        {
            if (OperatingSystem.IsLinux()) _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the reset then starts from whatever is still resident.
        }
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux or not permitted: the peak then covers the whole process.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    internal static double PeakRssMegabytes()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}

/// <summary>Tiny option reader for the benchmark modes.</summary>
internal static class Args
{
    public static string String(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    public static int Int(string[] args, string name, int fallback)
    {
        var text = String(args, name, "");
        if (text.Length == 0) return fallback;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
        throw new ArgumentException($"{name} expects a whole number > 0, got '{text}'");
    }

    /// <summary>A comma-separated list of whole numbers &gt; 0, e.g. <c>--threads 1,2</c>.</summary>
    public static int[] IntList(string[] args, string name, int[] fallback)
    {
        var text = String(args, name, "");
        if (text.Length == 0) return fallback;
        var values = text.Split(',');
        if (values.All(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0))
            return [.. values.Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
        throw new ArgumentException($"{name} expects whole numbers > 0 separated by commas (e.g. 1,2), got '{text}'");
    }

    public static double Double(string[] args, string name, double fallback)
    {
        var text = String(args, name, "");
        if (text.Length == 0) return fallback;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
        throw new ArgumentException($"{name} expects a number > 0, got '{text}'");
    }
}
