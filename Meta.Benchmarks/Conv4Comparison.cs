using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Meta;
using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks.Images;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Benchmarks;

/// <summary>
/// <c>conv4</c>: conv-4 MAML on Omniglot-shaped 5-way 1-shot tasks (meta-batch 32, 64 filters, S = 1 and 5, both
/// orders), Meta against two PyTorch MAMLs (reference/conv4_maml.py, run as a subprocess: a per-task loop with
/// <c>autograd.grad(create_graph=…)</c> as learn2learn/higher users write it, and a task-batched grouped-convolution
/// version), for each thread count in one run. Every cell: warm-up iterations, then blocks of ≥ seconds / blocks
/// each; the rate is the median of the blocks' rates. Prints it/s, the ratios, peak RSS, the analytic FLOPs per
/// meta-iteration (<see cref="Conv4Flops"/>) and the achieved GFLOP/s, next to a large matmul's GFLOP/s as the
/// machine's practical peak.
/// </summary>
internal static class Conv4Comparison
{
    private sealed record Row(string Name, int Side, int Channels, int Filters, int Queries, int Tasks, int Steps, double Alpha, bool FirstOrder, bool Looped = false);

    private sealed record Cell(double Rate, double PeakMegabytes);

    private const string Script = "conv4_maml.py";

    public static int Run(string[] args)
    {
        var threadCounts = Args.IntList(args, "--threads", [1, 2]);
        var seconds = Args.Double(args, "--seconds", 15);
        var blocks = Args.Int(args, "--blocks", 3);
        var warmup = Args.Int(args, "--warmup", 1);
        var queries = Args.Int(args, "--queries", 1);
        var tasks = Args.Int(args, "--meta-batch", 32);
        var filters = Args.Int(args, "--filters", 64);
        var steps = Args.IntList(args, "--steps", [1, 5]);
        var only = Args.String(args, "--only", "");
        var python = Args.String(args, "--python", "/usr/bin/python3");
        // --parallelism tasks: Meta splits the meta-batch's tasks over --threads threads (TaskParallel) instead of using
        // libtorch's intra-op threads; the PyTorch references always use intra-op threads.
        var parallelismName = Args.String(args, "--parallelism", "operations");
        if (parallelismName is not ("operations" or "tasks")) throw new ArgumentException($"--parallelism expects operations or tasks, got '{parallelismName}'");
        var parallelism = parallelismName == "tasks" ? Parallelism.Tasks : Parallelism.Operations;
        // --reference-heap default (what a PyTorch user runs: glibc's defaults) or kept (the heap Meta runs on, the same
        // GLIBC_TUNABLES as TorchRuntime.Allocator): the PyTorch processes' malloc.
        var referenceHeap = Args.String(args, "--reference-heap", "default");
        if (referenceHeap is not ("default" or "kept")) throw new ArgumentException($"--reference-heap expects default or kept, got '{referenceHeap}'");
        var tunables = referenceHeap == "kept" ? TorchRuntime.KeptHeapTunables : null;
        var script = Path.Combine(AppContext.BaseDirectory, "reference", Script);
        var skipReason = args.Contains("--no-reference") ? "--no-reference" : ProbeReference(python, script);

        TorchRuntime.UseThreads(threadCounts[0]);
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, Meta's parallelism {parallelismName}, load average {LoadAverage()} at start; native heap: {TorchRuntime.Allocator}");
        Console.WriteLine(skipReason is null
            ? $"PyTorch reference: {python} {script} ({ReferenceVersion(python)})"
            : $"PyTorch reference skipped: {skipReason}; its columns show —");
        if (skipReason is null)
            Console.WriteLine(tunables is null
                ? "PyTorch's native heap: glibc's defaults (GLIBC_TUNABLES unset), as its users run it; --reference-heap kept gives it Meta's"
                : $"PyTorch's native heap: GLIBC_TUNABLES={tunables} (Meta's, --reference-heap kept)");
        Console.WriteLine($"conv-4 (batch norm, {filters} filters, 28×28×1), 5-way 1-shot, {queries} query image(s) per class, meta-batch {tasks}, α = 0.4, " +
            "Adam 1e-3, float32, random images");
        Console.WriteLine($"timing per cell: {warmup} warm-up iteration(s), then {blocks} blocks of ≥ {seconds / blocks:0.#} s (≥ 1 iteration each); rate = median of the blocks. " +
            "Meta, PyTorch loop and PyTorch batched run one after the other per row. Peak RSS: Meta's VmHWM reset before each cell " +
            "(includes the .NET + libtorch baseline), PyTorch's VmHWM of its own process, one per cell (includes Python + torch)");
        Console.WriteLine("GFLOP/it: 2 × analytic multiply-adds of the convolutions and the head (forward, backward, double backward; docs/images.md)");
        Console.WriteLine();

        List<Row> rows = [];
        foreach (var s in steps)
            foreach (var firstOrder in new[] { false, true })
                rows.Add(new($"S = {s}, {(firstOrder ? "first" : "second")} order", 28, 1, filters, queries, tasks, s, 0.4, firstOrder));
        rows = [.. rows.Where(r => only.Length == 0 || r.Name.Contains(only, StringComparison.Ordinal))];

        foreach (var threads in threadCounts)
        {
            TorchRuntime.UseThreads(threads);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{threads} thread(s): large float32 matmul {MatmulGigaflops():0} GFLOP/s (the practical peak); load average {LoadAverage()}"));
            Console.WriteLine("| threads | configuration | GFLOP/it | Meta it/s | PyTorch loop it/s | PyTorch batched it/s | Meta ÷ loop | Meta ÷ batched | " +
                "GFLOP/s Meta / loop / batched | peak RSS MB Meta / loop / batched |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var row in rows)
            {
                var meta = MeasureMeta(row, threads, parallelism, seconds, blocks, warmup);
                var loop = skipReason is null ? MeasureReference(python, script, "loop", row, threads, seconds, blocks, warmup, tunables) : null;
                var batched = skipReason is null ? MeasureReference(python, script, "batched", row, threads, seconds, blocks, warmup, tunables) : null;
                var gflop = Gigaflops(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {threads} | {row.Name} | {gflop:0.0} | {meta.Rate:0.00} | {Rate(loop)} | {Rate(batched)} | {Ratio(meta, loop)} | {Ratio(meta, batched)} | " +
                    $"{gflop * meta.Rate:0.0} / {Gflops(loop, gflop)} / {Gflops(batched, gflop)} | {meta.PeakMegabytes:0} / {Peak(loop)} / {Peak(batched)} |"));
            }
            Console.WriteLine();
        }

        if (args.Contains("--mini"))
        {
            // Meta-only rows: the per-task loop instead of grouped convolution, and MAML's Mini-ImageNet 5-way 1-shot
            // set-up (84×84×3, 32 filters, 15 queries, meta-batch 4, 5 steps at α = 0.01).
            List<Row> extra =
            [
                new("S = 1, second order, per-task loop (no grouped conv)", 28, 1, filters, queries, tasks, 1, 0.4, false, Looped: true),
                new("Mini-ImageNet-shaped, meta-batch 4, S = 5, second order", 84, 3, 32, 15, 4, 5, 0.01, false),
                new("Mini-ImageNet-shaped, meta-batch 4, S = 5, first order", 84, 3, 32, 15, 4, 5, 0.01, true),
            ];
            Console.WriteLine("| threads | Meta only | GFLOP/it | it/s | GFLOP/s | peak RSS (MB) |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|");
            foreach (var threads in threadCounts)
                foreach (var row in extra.Where(r => only.Length == 0 || r.Name.Contains(only, StringComparison.Ordinal)))
                {
                    TorchRuntime.UseThreads(threads);
                    var meta = MeasureMeta(row, threads, parallelism, seconds, blocks, warmup);
                    var gflop = Gigaflops(row);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {threads} | {row.Name} | {gflop:0.0} | {meta.Rate:0.00} | {gflop * meta.Rate:0.0} | {meta.PeakMegabytes:0} |"));
                }
        }
        Console.WriteLine($"load average {LoadAverage()} at the end");
        return 0;
    }

    /// <summary>
    /// <c>conv4-ops</c>: milliseconds of conv-4's operations at each block's shape for the whole meta-batch (T = 32 tasks of
    /// 5 images): one grouped convolution vs a loop of T per-task convolutions (forward, forward + backward), libtorch's
    /// max-pool and Meta's <see cref="MaxPool2"/> (forward, forward + backward), batch norm, ReLU. Best of 5; what the per-phase explanation in docs/images.md rests on.
    /// </summary>
    public static int Ops(string[] args)
    {
        var threads = Args.Int(args, "--threads", 1);
        TorchRuntime.UseThreads(threads);
        long[] pad = [1, 1];
        Console.WriteLine($"libtorch threads {get_num_threads()}, load average {LoadAverage()}; ms, best of 5");
        Console.WriteLine("Omniglot-shaped: T = 32 tasks × 5 images, 64 filters; Mini-ImageNet-shaped (84² × 3 inputs): T = 4 tasks × 5 images, 32 filters");
        Console.WriteLine("| block input | M multiply-adds | conv grouped | conv per-task loop | fwd+bwd grouped | fwd+bwd loop | max-pool | fwd+bwd | MaxPool2 | fwd+bwd | batch norm | relu |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (T, N, F, side, cin) in new[] { (32, 5, 64, 28, 1), (32, 5, 64, 14, 64), (32, 5, 64, 7, 64), (32, 5, 64, 3, 64), (4, 5, 32, 84, 3), (4, 5, 32, 42, 32) })
        {
            using var scope = NewDisposeScope();
            var x = randn(N, T * cin, side, side);
            var w = randn(T * F, cin, 3, 3);
            var xs = Enumerable.Range(0, T).Select(t => x.narrow(1, t * cin, cin).contiguous()).ToArray();
            var ws = Enumerable.Range(0, T).Select(t => w.narrow(0, t * F, F)).ToArray();
            var grouped = Time(() => nn.functional.conv2d(x, w, padding: pad, groups: T));
            var loop = Time(() => { for (var t = 0; t < T; t++) nn.functional.conv2d(xs[t], ws[t], padding: pad); });
            var xg = x.clone().requires_grad_(cin > 1);
            var wg = w.clone().requires_grad_(true);
            var groupedBackward = Time(() =>
            {
                var y = nn.functional.conv2d(xg, wg, padding: pad, groups: T);
                y.backward([ones_like(y)]);
            });
            var xsg = xs.Select(v => v.clone().requires_grad_(cin > 1)).ToArray();
            var wsg = ws.Select(v => v.clone().requires_grad_(true)).ToArray();
            var loopBackward = Time(() =>
            {
                for (var t = 0; t < T; t++)
                {
                    var y = nn.functional.conv2d(xsg[t], wsg[t], padding: pad);
                    y.backward([ones_like(y)]);
                }
            });
            var h = randn(N, T * F, side, side);
            var norm = Time(() => nn.functional.batch_norm(h, null, null, ones(T * F), zeros(T * F), training: true));
            var relu = Time(() => nn.functional.relu(h));
            var pool = Time(() => nn.functional.max_pool2d(h, 2));
            var poolBackward = Time(() =>
            {
                var hg = h.detach().requires_grad_(true);
                var y = nn.functional.max_pool2d(hg, 2);
                y.backward([ones_like(y)]);
            });
            var managed = Time(() => MaxPool2.Apply(h));
            var managedBackward = Time(() =>
            {
                var hg = h.detach().requires_grad_(true);
                var y = MaxPool2.Apply(hg);
                y.backward([ones_like(y)]);
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {N} × {T * cin} × {side}² | {(double)N * T * side * side * F * cin * 9 / 1e6:0} | {grouped:0.0} | {loop:0.0} | {groupedBackward:0.0} | {loopBackward:0.0} | {pool:0.0} | {poolBackward:0.0} | {managed:0.0} | {managedBackward:0.0} | {norm:0.0} | {relu:0.0} |"));
        }
        return 0;
    }

    private static double Time(Action action)
    {
        using (NewDisposeScope()) action();
        var best = double.MaxValue;
        for (var r = 0; r < 5; r++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }
        return best;
    }

    /// <summary>GFLOP per meta-iteration of <paramref name="row"/> (5-way 1-shot: 5 support images per task).</summary>
    private static double Gigaflops(Row row)
    {
        using var network = new ConvNet(5, row.Channels, row.Side, row.Side, row.Filters);
        return 2 * Conv4Flops.MultiplyAdds(network, row.Tasks, 5, 5 * row.Queries, row.Steps, row.FirstOrder) / 1e9;
    }

    private static string Rate(Cell? cell) => cell is null ? "—" : cell.Rate.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Ratio(Cell meta, Cell? other) => other is null ? "—" : (meta.Rate / other.Rate).ToString("0.00", CultureInfo.InvariantCulture) + "×";

    private static string Gflops(Cell? cell, double gflop) => cell is null ? "—" : (gflop * cell.Rate).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Peak(Cell? cell) => cell is null ? "—" : cell.PeakMegabytes.ToString("0", CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- Meta

    private static Cell MeasureMeta(Row row, int threads, Parallelism parallelism, double seconds, int blocks, int warmup)
    {
        TorchRuntime.UseThreads(threads);
        using var parallel = TaskParallel.For(parallelism, threads);
        GC.Collect();
        ImageBenchmarks.ResetPeakRss();
        using var dataset = SyntheticDataset(classes: 50, perClass: 20, side: row.Side, channels: row.Channels);
        var family = new FewShotFamily(dataset, 5, 1, row.Queries);
        using var seeds = new RunSeeds(1);
        using var conv = new ConvNet(5, row.Channels, row.Side, row.Side, row.Filters);
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
        for (var i = 0; i < warmup; i++) Step();
        var rates = new List<double>();
        for (var b = 0; b < blocks; b++)
        {
            var clock = Stopwatch.StartNew();
            var n = 0;
            while (n == 0 || clock.Elapsed.TotalSeconds < seconds / blocks)
            {
                Step();
                n++;
            }
            rates.Add(n / clock.Elapsed.TotalSeconds);
        }
        rates.Sort();
        TorchRuntime.UseThreads(threads);     // a task-parallel runner sets libtorch's threads to 1
        return new Cell(rates[rates.Count / 2], ImageBenchmarks.PeakRssMegabytes());
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

    /// <summary>GFLOP/s of a 1024 × 1024 float32 matmul for about a second: what the BLAS reaches on this machine and thread count.</summary>
    private static double MatmulGigaflops()
    {
        using var scope = NewDisposeScope();
        const int n = 1024;
        var a = rand(n, n);
        var b = rand(n, n);
        _ = a.mm(b);
        var clock = Stopwatch.StartNew();
        var count = 0;
        while (clock.Elapsed.TotalSeconds < 1)
        {
            using var c = a.mm(b);
            count++;
        }
        return 2.0 * n * n * n * count / clock.Elapsed.TotalSeconds / 1e9;
    }

    // ---------------------------------------------------------------- PyTorch reference

    /// <summary>Null when <paramref name="python"/> runs and imports torch, else why not (one line).</summary>
    private static string? ProbeReference(string python, string script)
    {
        if (!File.Exists(script)) return $"{script} not found (it is copied next to the benchmark at build time)";
        var (code, _, error) = RunProcess(python, ["-c", "import torch"], null);
        return code switch
        {
            null => $"{python} not found (install python3 and python3-torch, or pass --python PATH)",
            0 => null,
            _ => $"{python} cannot import torch ({LastLine(error)}; apt-get install python3-torch)",
        };
    }

    private static string ReferenceVersion(string python)
    {
        var (_, output, _) = RunProcess(python, ["-c", "import torch; print('PyTorch', torch.__version__)"], null);
        return output.Trim();
    }

    private static Cell? MeasureReference(string python, string script, string variant, Row row, int threads, double seconds, int blocks, int warmup,
        string? tunables)
    {
        List<string> arguments =
        [
            script, "--json", "--variant", variant, "--steps", Invariant(row.Steps), "--threads", Invariant(threads),
            "--tasks", Invariant(row.Tasks), "--filters", Invariant(row.Filters), "--queries", Invariant(row.Queries),
            "--seconds", Invariant(seconds), "--blocks", Invariant(blocks), "--warmup", Invariant(warmup),
        ];
        if (row.FirstOrder) arguments.Add("--first-order");
        var (code, output, error) = RunProcess(python, arguments, threads, tunables);
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        if (code != 0 || line is null)
        {
            Console.WriteLine($"PyTorch {variant} ({row.Name}, {threads} thread(s)) failed with exit code {code}: {LastLine(error)}");
            return null;
        }
        using var json = JsonDocument.Parse(line);
        return new Cell(json.RootElement.GetProperty("rate").GetDouble(), json.RootElement.GetProperty("peak_rss_mb").GetDouble());
    }

    // tunables: the child's GLIBC_TUNABLES (null: glibc's defaults, whatever this process runs with).
    private static (int? Code, string Output, string Error) RunProcess(string file, IEnumerable<string> arguments, int? threads, string? tunables = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        // The benchmark itself runs with Meta's heap tunables (TorchRuntime.RestartWithKeptHeap); a child gets them only when asked.
        info.Environment.Remove("GLIBC_TUNABLES");
        if (tunables is not null) info.Environment["GLIBC_TUNABLES"] = tunables;
        if (threads is { } t)
        {
            info.Environment["OMP_NUM_THREADS"] = Invariant(t);
            info.Environment["MKL_NUM_THREADS"] = Invariant(t);
        }
        try
        {
            using var process = Process.Start(info);
            if (process is null) return (null, "", "");
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.Result);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, "", "");
        }
    }

    private static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "no output";

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- machine state

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}

/// <summary>
/// Analytic multiply-adds of one conv-4 MAML meta-iteration: convolutions and the linear head only (batch norm,
/// pooling, ReLU, the loss and the optimiser are elementwise and not counted). Per layer with forward cost M
/// (multiply-adds per image) and g = 1 when the layer's input needs a gradient (0 for the first convolution, whose input
/// is the images): a forward pass costs M, a backward (1 + g)·M (weight gradient, input gradient). A second-order inner
/// step costs (4 + 5g)·M: forward M, backward kept for differentiation (1 + g)·M, its double backward (1 + 3g)·M (the
/// weight-gradient op differentiated w.r.t. the output gradient and, if g, the input; the input-gradient op w.r.t. the
/// output gradient and the weights) and the forward's own backward in the outer pass (1 + g)·M. A first-order inner
/// step costs (2 + g)·M, the query pass (2 + g)·M.
/// </summary>
internal static class Conv4Flops
{
    /// <summary>Multiply-adds for <paramref name="tasks"/> tasks of <paramref name="support"/> and <paramref name="query"/> images each.</summary>
    public static double MultiplyAdds(ConvNet network, int tasks, int support, int query, int steps, bool firstOrder)
    {
        double total = 0;
        foreach (var (m, g) in Layers(network))
        {
            var inner = firstOrder ? 2 + g : 4 + 5 * g;
            total += (double)tasks * (steps * support * inner * m + query * (2 + g) * m);
        }
        return total;
    }

    /// <summary>Per layer: forward multiply-adds per image and whether its input needs a gradient (0 or 1).</summary>
    public static IEnumerable<(double MultiplyAdds, int InputGradient)> Layers(ConvNet network)
    {
        var side = network.Side;
        for (var b = 0; b < network.Blocks; b++)
        {
            var inChannels = b == 0 ? network.Channels : network.Filters;
            yield return ((double)side * side * network.Filters * inChannels * 9, b == 0 ? 0 : 1);
            side /= 2;
        }
        yield return ((double)network.Features * network.Ways, 1);
    }
}
