using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Meta.Evaluation;

namespace Meta.Hosting;

/// <summary>
/// <c>compare &lt;experiment&gt;… [--seeds N] [shared options]</c>: trains each named experiment once per seed, each run in
/// its own child process (so peak memory is per run), with the same shared options (same iteration budget, same
/// evaluation protocol and test tasks), then writes one Markdown table (mean over seeds ± 95 % CI over seeds) and a PNG
/// chart under <c>&lt;output&gt;/compare/&lt;timestamp&gt;/</c>.
/// </summary>
public static class Comparison
{
    /// <summary>Runs the comparison; returns the exit code (0, or 2 for bad input, or 1 if a run failed).</summary>
    public static int Run(string[] args, IReadOnlyList<ExperimentDescriptor> experiments, TextWriter output, TextWriter error)
    {
        var names = args.Skip(1).TakeWhile(a => !a.StartsWith('-')).ToList();
        var rest = args.Skip(1 + names.Count).ToList();
        var seeds = 3;
        var root = ExperimentDefaults.Output;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] is "--seeds" or "--output" && i + 1 >= rest.Count)
            {
                error.WriteLine($"error: {rest[i]} needs a value");
                return ExperimentExitCode.BadInput;
            }
            if (rest[i] == "--seeds")
            {
                if (!int.TryParse(rest[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out seeds) || seeds < 1)
                {
                    error.WriteLine($"error: --seeds: '{rest[i + 1]}' is not accepted; expected a whole number ≥ 1");
                    return ExperimentExitCode.BadInput;
                }
                rest.RemoveRange(i, 2);
                i--;
            }
            else if (rest[i] == "--output")
            {
                root = rest[i + 1];
                rest.RemoveRange(i, 2);
                i--;
            }
            else if (rest[i] == "--seed")
            {
                error.WriteLine("error: --seed: compare sets the seeds itself (1..N); use --seeds N");
                return ExperimentExitCode.BadInput;
            }
        }
        if (names.Count == 0)
        {
            error.WriteLine("error: compare needs at least one experiment; accepted: " + string.Join(", ", experiments.Select(e => e.Name)));
            return ExperimentExitCode.BadInput;
        }
        var unknown = names.FirstOrDefault(n => experiments.All(e => e.Name != n));
        if (unknown is not null)
        {
            error.WriteLine($"error: unknown experiment '{unknown}'; accepted: {string.Join(", ", experiments.Select(e => e.Name))}");
            return ExperimentExitCode.BadInput;
        }
        // Check the shared options against every experiment before any training or writing: their syntax, their values,
        // the configuration sources and the sizes against memory, exactly as each child run will see them.
        foreach (var name in names)
        {
            var check = MetaHost.Check([name, .. rest, "--seed", "1", "--output", root], experiments, error);
            if (check is { } code) return code;
        }

        var folder = Path.GetFullPath(Path.Combine(root, "compare", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(folder);
        var results = new List<RunResult>();
        var failures = new List<string>();
        foreach (var name in names)
        {
            for (var seed = 1; seed <= seeds; seed++)
            {
                output.WriteLine($"compare: {name}, seed {seed} of {seeds}");
                var runRoot = Path.Combine(folder, "runs");
                var (code, reason) = RunChild([name, .. rest, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--output", runRoot, "--log-every", "1000000"], error);
                if (code == ExperimentExitCode.Stopped) return code;   // Ctrl+C: stop the comparison too
                if (code != 0)
                {
                    // A run that fails (a NaN, a crash) is a result of the comparison, not the end of it.
                    failures.Add($"{name}, seed {seed}: exit {code}{(reason.Length > 0 ? ": " + reason : "")}");
                    error.WriteLine($"compare: {name} with seed {seed} exited {code}; continuing");
                    continue;
                }
                var newest = Directory.GetDirectories(Path.Combine(runRoot, name)).OrderBy(d => d, StringComparer.Ordinal).Last();
                results.Add(JsonSerializer.Deserialize<RunResult>(File.ReadAllText(Path.Combine(newest, RunResult.FileName)), ExperimentRun.JsonOptions)!);
            }
        }
        var markdown = Table(names, results, rest, seeds, failures);
        File.WriteAllText(Path.Combine(folder, "comparison.md"), markdown);
        Chart(Path.Combine(folder, "comparison.png"), names, results);
        ResultsPage.Write(folder, "comparison: " + string.Join(", ", names), "# Comparison\n\n" + markdown + "\n![comparison](comparison.png)\n");
        output.Write(markdown);
        output.WriteLine($"compare: wrote {Path.Combine(folder, "comparison.md")}, comparison.png and index.html");
        return failures.Count == 0 ? ExperimentExitCode.Success : ExperimentExitCode.Failure;
    }

    private static (int Code, string Reason) RunChild(string[] args, TextWriter error)
    {
        var self = Environment.GetCommandLineArgs()[0];
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // Started as 'dotnet Meta.Experiments.dll' the process is the muxer and needs the dll; started through the apphost
        // (dotnet run, ./Meta.Experiments) it is the program itself.
        var muxer = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet";
        if (muxer && self.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) info.ArgumentList.Add(self);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        // Ctrl+C reaches the child through the terminal's process group; SIGTERM sent to compare alone is passed on. Either
        // way compare waits for the child's clean stop (exit 130, checkpoint and summary) and then stops too.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            Posix.Terminate(process.Id);
        });
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var firstError = errors.Result.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal)) ?? "";
        if (process.ExitCode is not (0 or ExperimentExitCode.Stopped))
        {
            error.WriteLine($"compare: {string.Join(' ', args)} failed");
            error.Write(errors.Result);
        }
        return (process.ExitCode, firstError.Length > 0 ? firstError["error:".Length..].Trim() : "");
    }

    private static (double Mean, double Ci) Stat(IReadOnlyList<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0) return (double.NaN, double.NaN);
        var mean = finite.Average();
        if (finite.Count < 2) return (mean, double.NaN);
        var sd = Math.Sqrt(finite.Sum(v => (v - mean) * (v - mean)) / (finite.Count - 1));
        return (mean, 1.96 * sd / Math.Sqrt(finite.Count));
    }

    private static string Cell((double Mean, double Ci) s) =>
        double.IsNaN(s.Mean) ? "–" : double.IsNaN(s.Ci) ? s.Mean.ToString("0.000", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.000} ± {s.Ci:0.000}");

    private static string Table(List<string> names, List<RunResult> results, List<string> shared, int seeds, List<string> failures)
    {
        var evalColumns = results.SelectMany(r => r.Evaluation).Where(r => r.Model == Models.MetaLearned)
            .Select(r => (r.Shots, r.Steps)).Where(c => c.Steps is 1 or 10).Distinct().Order().ToList();
        var hasGrid = results.Any(r => r.Results.ContainsKey("grid.mean"));
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Comparison over seeds 1–{seeds} (mean ± 95 % CI over seeds); shared options: `{(shared.Count == 0 ? "(defaults)" : string.Join(' ', shared))}`.");
        sb.AppendLine();
        sb.Append("| experiment | algorithm |");
        foreach (var (k, s) in evalColumns) sb.Append(CultureInfo.InvariantCulture, $" K={k}, {s} step{(s == 1 ? "" : "s")} |");
        if (hasGrid) sb.Append(" grid mean | grid median | grid worst 10 % |");
        sb.AppendLine(" meta-it/s | peak RSS (MB) |");
        sb.Append("|---|---|");
        foreach (var _ in evalColumns) sb.Append("---:|");
        if (hasGrid) sb.Append("---:|---:|---:|");
        sb.AppendLine("---:|---:|");
        foreach (var name in names)
        {
            var runs = results.Where(r => r.Experiment == name).ToList();
            if (runs.Count == 0)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | every run failed (below) |");
                continue;
            }
            var label = runs.Count == seeds ? name : string.Create(CultureInfo.InvariantCulture, $"{name} ({runs.Count} of {seeds} seeds)");
            sb.Append(CultureInfo.InvariantCulture, $"| {label} | {runs[0].Algorithm} |");
            foreach (var (k, s) in evalColumns)
            {
                var cells = runs.Select(r => r.Evaluation.FirstOrDefault(e => e.Model == Models.MetaLearned && e.Shots == k && e.Steps == s)).ToList();
                var diverging = cells.Count(c => c is { Diverged: > 0 });
                // Where some test tasks diverged the mean says little: the median over tasks (mean over seeds) instead.
                sb.Append(' ').Append(diverging == 0
                    ? Cell(Stat([.. cells.Select(c => c?.Mean ?? double.NaN)]))
                    : string.Create(CultureInfo.InvariantCulture,
                        $"median {Cell(Stat([.. cells.Select(c => c?.Median ?? double.NaN)]))} (tasks diverged in {diverging} of {cells.Count} runs)")).Append(" |");
            }
            if (hasGrid)
            {
                sb.Append(' ').Append(Cell(Stat([.. runs.Select(r => r.Results.GetValueOrDefault("grid.mean", double.NaN))]))).Append(" |");
                sb.Append(' ').Append(Cell(Stat([.. runs.Select(r => r.Results.GetValueOrDefault("grid.median", double.NaN))]))).Append(" |");
                sb.Append(' ').Append(Cell(Stat([.. runs.Select(r => r.Results.GetValueOrDefault("grid.worst10", double.NaN))]))).Append(" |");
            }
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $" {runs.Average(r => r.IterationsPerSecond):0} | {runs.Max(r => r.PeakMegabytes):0} |"));
        }
        if (failures.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Failed runs (left out of the means):");
            sb.AppendLine();
            foreach (var failure in failures) sb.AppendLine("- " + failure);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The bar chart of the comparison: one bar per experiment (mean over its completed seeds ± 95 % CI, its value on
    /// top); an experiment none of whose runs completed gets no bar but the words "all runs failed", and one whose metric
    /// is not finite "diverged", so that no failure looks like the best result.
    /// </summary>
    internal static void Chart(string path, List<string> names, List<RunResult> results)
    {
        try
        {
            var plot = new ScottPlot.Plot();
            var bars = new List<ScottPlot.Bar>();
            var missing = new List<(int Index, string Why)>();
            for (var i = 0; i < names.Count; i++)
            {
                var runs = results.Where(r => r.Experiment == names[i]).ToList();
                if (runs.Count == 0)
                {
                    missing.Add((i, "all runs failed"));
                    continue;
                }
                var metric = runs.Any(r => r.Evaluation.Count > 0)
                    ? runs.Select(r => r.Evaluation.FirstOrDefault(e => e.Model == Models.MetaLearned && e.Shots == 10 && e.Steps == 10)?.Mean ?? double.NaN).ToList()
                    : runs.Select(r => r.Results.GetValueOrDefault("grid.mean", double.NaN)).ToList();
                var (mean, ci) = Stat(metric);
                if (!double.IsFinite(mean) || mean > SinusoidEvaluation.DivergedLoss)
                {
                    missing.Add((i, "diverged"));
                    continue;
                }
                bars.Add(new ScottPlot.Bar
                {
                    Position = i,
                    Value = mean,
                    Error = double.IsFinite(ci) ? ci : 0,
                    Label = mean.ToString("0.000", CultureInfo.InvariantCulture),
                    FillColor = ScottPlot.Colors.SteelBlue,
                });
            }
            if (bars.Count > 0) plot.Add.Bars(bars);
            var top = bars.Count > 0 ? bars.Max(b => b.Value + b.Error) : 1;
            foreach (var (index, why) in missing)
            {
                var text = plot.Add.Text(why, index, top * 0.05);
                text.LabelFontColor = ScottPlot.Colors.DarkRed;
                text.LabelFontSize = 14;
                text.LabelRotation = -90;
                text.LabelAlignment = ScottPlot.Alignment.MiddleLeft;
            }
            plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, names.Count).Select(i => (double)i)], [.. names]);
            plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
            plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
            // Rotated labels are not measured by the automatic layout: leave room for the longest one.
            plot.Axes.Bottom.MinimumSize = 30 + 7.5f * (float)Math.Sin(Math.PI / 6) * names.Max(n => n.Length);
            plot.Axes.Right.MinimumSize = 7.5f * (float)Math.Cos(Math.PI / 6) * names[^1].Length;
            plot.Axes.SetLimitsX(-0.6, names.Count - 0.4);
            plot.Axes.SetLimitsY(0, top * 1.15);
            plot.YLabel("MSE (K = 10, 10 steps; else grid mean)");
            plot.Title("comparison: mean over seeds ± 95 % CI");
            plot.SavePng(path, 1000, 600);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine("compare: chart not written: " + e.Message);
        }
    }
}
