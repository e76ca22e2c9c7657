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
/// <item><c>conv4</c> — meta-iterations per second and peak memory of conv-4 MAML on Omniglot-shaped tasks.</item>
/// <item><c>glyphs-train</c> — trains MAML on the rendered glyph family and reports accuracy on 600 test episodes.</item>
/// <item><c>glyphs-sheet</c> — renders the glyph family, prints its classes per script and writes a contact sheet.</item>
/// </list>
/// </summary>
internal static class ImageBenchmarks
{
    public static readonly string[] Modes = ["conv4", "glyphs-train", "glyphs-sheet", "datasets"];

    public static int Run(string[] args) => args[0] switch
    {
        "conv4" => Conv4(args),
        "glyphs-train" => GlyphsTrain(args),
        "glyphs-sheet" => GlyphsSheet(args),
        "datasets" => Datasets(args),
        _ => throw new ArgumentException(args[0]),
    };

    // ---------------------------------------------------------------- conv4

    private sealed record Conv4Row(string Name, int Side, int Channels, int Filters, int Queries, int Tasks, int Steps, double Alpha, bool FirstOrder, bool Looped = false);

    private static int Conv4(string[] args)
    {
        var threads = Args.Int(args, "--threads", 1);
        var seconds = Args.Double(args, "--seconds", 20);
        var queries = Args.Int(args, "--queries", 1);
        var tasks = Args.Int(args, "--meta-batch", 32);
        var filters = Args.Int(args, "--filters", 64);
        var only = Args.String(args, "--only", "");
        // --parallelism tasks: the meta-batch's tasks split over --threads threads (TaskParallel) instead of libtorch's intra-op threads.
        var parallelism = Args.String(args, "--parallelism", "operations");
        if (parallelism is not ("operations" or "tasks")) throw new ArgumentException($"--parallelism expects operations or tasks, got '{parallelism}'");
        TorchRuntime.UseThreads(threads);
        using var parallel = TaskParallel.For(parallelism == "tasks" ? Parallelism.Tasks : Parallelism.Operations, threads);
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, parallelism {parallelism} over {threads} thread(s), {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        Console.WriteLine("conv-4 with batch norm, 5-way 1-shot, MAML with Adam (float32), random images; Omniglot-shaped rows: 28×28×1, " +
            $"{filters} filters, {queries} query image(s) per class, meta-batch {tasks}, α = 0.4");
        Console.WriteLine($"timing: 2 warm-up iterations, then iterations for ≥ {seconds} s (at least 3); peak RSS = VmHWM, reset (clear_refs 5) before each row");
        Console.WriteLine();
        Console.WriteLine("| configuration | meta-iterations/s | s / iteration | peak RSS (MB) |");
        Console.WriteLine("|---|---:|---:|---:|");

        List<Conv4Row> rows =
        [
            new("S = 1, second order", 28, 1, filters, queries, tasks, 1, 0.4, false),
            new("S = 1, first order", 28, 1, filters, queries, tasks, 1, 0.4, true),
            new("S = 5, second order", 28, 1, filters, queries, tasks, 5, 0.4, false),
            new("S = 5, first order", 28, 1, filters, queries, tasks, 5, 0.4, true),
            new("S = 1, second order, per-task loop (no grouped conv)", 28, 1, filters, queries, tasks, 1, 0.4, false, Looped: true),
        ];
        if (args.Contains("--mini"))
        {
            // MAML's Mini-ImageNet 5-way 1-shot set-up: 84×84×3, 32 filters, 15 queries, meta-batch 4, 5 steps at α = 0.01.
            rows.Add(new("Mini-ImageNet-shaped, meta-batch 4, S = 5, second order", 84, 3, 32, 15, 4, 5, 0.01, false));
            rows.Add(new("Mini-ImageNet-shaped, meta-batch 4, S = 5, first order", 84, 3, 32, 15, 4, 5, 0.01, true));
        }
        foreach (var row in rows)
        {
            if (only.Length > 0 && !row.Name.Contains(only, StringComparison.Ordinal)) continue;
            GC.Collect();
            ResetPeakRss();
            using var dataset = SyntheticDataset(classes: 50, perClass: 20, side: row.Side, channels: row.Channels);
            var family = new FewShotFamily(dataset, 5, 1, row.Queries);
            using var seeds = new RunSeeds(1);
            var conv = new ConvNet(5, row.Channels, row.Side, row.Side, row.Filters);
            IFunctionalNetwork network = row.Looped ? new PerTaskLoop(conv) : conv;
            using var theta = conv.Initialize(WeightInit.PyTorch, seeds.Weights);
            var maml = new Maml(network, TaskLoss.CrossEntropyLoss, row.Steps, row.Alpha, row.FirstOrder);
            using var adam = new Adam(theta, 0.001);
            void Step()
            {
                using var scope = NewDisposeScope();
                var step = parallel.MetaStep(maml, theta, family.Draw(row.Tasks, seeds.Tasks));
                adam.Step(step.Gradient);
                _ = step.MetaLoss.ToSingle();
            }
            Step();
            Step();
            var clock = Stopwatch.StartNew();
            var n = 0;
            while (clock.Elapsed.TotalSeconds < seconds || n < 3)
            {
                Step();
                n++;
            }
            var rate = n / clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Name} | {rate:0.00} | {1 / rate:0.00} | {PeakRssMegabytes():0} |"));
        }
        return 0;
    }

    /// <summary>The same network computed one task at a time (T forwards of one task, concatenated): the baseline for grouped convolution.</summary>
    private sealed class PerTaskLoop(ConvNet inner) : IFunctionalNetwork
    {
        public ParameterLayout Layout => inner.Layout;
        public int Inputs => inner.Inputs;
        public int Outputs => inner.Outputs;
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32) => inner.Initialize(scheme, generator, dtype);
        public Tensor Forward(Tensor weights, Tensor input) =>
            cat(Enumerable.Range(0, (int)weights.shape[0]).Select(t => inner.Forward(weights.narrow(0, t, 1), input.narrow(0, t, 1))).ToArray(), 0);
    }

    private static ImageClassDataset SyntheticDataset(int classes, int perClass, int side, int channels = 1)
    {
        var random = new Random(5);
        var pixels = new byte[classes * perClass * channels * side * side];
        random.NextBytes(pixels);
        return ImageClassDataset.FromPixels(pixels, [.. Enumerable.Range(0, classes).Select(c => ($"class{c}", perClass))], channels, side, side);
    }

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
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch threads {get_num_threads()}, {Environment.ProcessorCount} cores");
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

    private static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux or not permitted: the peak then covers the whole process.
        }
    }

    private static double PeakRssMegabytes()
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

    public static double Double(string[] args, string name, double fallback)
    {
        var text = String(args, name, "");
        if (text.Length == 0) return fallback;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0) return v;
        throw new ArgumentException($"{name} expects a number > 0, got '{text}'");
    }
}
