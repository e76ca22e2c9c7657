using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Meta.Evaluation;

namespace Meta.Hosting;

/// <summary>
/// <c>compare &lt;experiment or pattern&gt;… [--seeds N] [shared options]</c>: trains each named experiment (a name with *
/// stands for every experiment it matches) once per seed, each run in
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
        var jobs = 1;
        var root = ExperimentDefaults.Output;
        for (var i = 0; i < rest.Count; i++)
        {
            if (rest[i] is "--seeds" or "--output" or "--jobs" && i + 1 >= rest.Count)
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
            else if (rest[i] == "--jobs")
            {
                if (!int.TryParse(rest[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out jobs) || jobs < 1 || jobs > Environment.ProcessorCount)
                {
                    error.WriteLine($"error: --jobs: '{rest[i + 1]}' is not accepted; expected a whole number from 1 to {Environment.ProcessorCount} (this machine's cores)");
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
        // A name with * stands for every experiment it matches, in the program's order ('cmp-*': the eight algorithms).
        var expanded = new List<string>();
        foreach (var pattern in names)
        {
            var matches = pattern.Contains('*', StringComparison.Ordinal)
                ? experiments.Select(e => e.Name).Where(n => Matches(pattern, n)).ToList()
                : [pattern];
            if (matches.Count == 0)
            {
                error.WriteLine($"error: '{pattern}' matches no experiment; accepted: experiment names or patterns with * (e.g. cmp-*) over: {string.Join(", ", experiments.Select(e => e.Name))}");
                return ExperimentExitCode.BadInput;
            }
            expanded.AddRange(matches.Where(m => !expanded.Contains(m)));
        }
        names = expanded;
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
        // Every (experiment, seed) is one child process; --jobs N runs N at a time, each child on one libtorch thread unless
        // the options say otherwise (N runs of one thread use N cores better than one run of N threads on these small
        // networks). Results are collected in (experiment, seed) order whatever order the children finish in.
        var runRoot = Path.Combine(folder, "runs");
        var threads = jobs > 1 && !rest.Contains("--threads") ? (string[])["--threads", "1"] : [];
        var plan = names.SelectMany(name => Enumerable.Range(1, seeds).Select(seed => (Name: name, Seed: seed))).ToList();
        var results = new SeedRun?[plan.Count];
        var stopped = 0;
        var gate = new object();
        // No buffering: children start in (experiment, seed) order, so a comparison stopped halfway has its first runs done.
        var order = System.Collections.Concurrent.Partitioner.Create(Enumerable.Range(0, plan.Count), System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering);
        Parallel.ForEach(order, new ParallelOptions { MaxDegreeOfParallelism = jobs }, (index, state) =>
        {
            if (Volatile.Read(ref stopped) != 0) { state.Stop(); return; }
            var (name, seed) = plan[index];
            var seedText = seed.ToString(CultureInfo.InvariantCulture);
            lock (gate) output.WriteLine($"compare: {name}, seed {seed} of {seeds}");
            var (code, reason, log) = RunChild([name, .. rest, .. threads, "--seed", seedText, "--output", runRoot, "--log-every", "1000000"]);
            lock (gate)
            {
                error.Write(log);
                if (code == ExperimentExitCode.Stopped)
                {
                    // Ctrl+C: stop the comparison too (children still running stop by the same signal).
                    Volatile.Write(ref stopped, 1);
                    state.Stop();
                    return;
                }
                if (code != 0)
                {
                    // A run that fails (a NaN, a crash) is a result of the comparison, not the end of it.
                    results[index] = new SeedRun(name, seed, null, $"exit {code}{(reason.Length > 0 ? ": " + reason : "")}");
                    error.WriteLine($"compare: {name} with seed {seed} exited {code}; continuing");
                    return;
                }
            }
            results[index] = new SeedRun(name, seed, ReadResult(Path.Combine(runRoot, name), seedText), null);
        });
        if (stopped != 0) return ExperimentExitCode.Stopped;
        var runs = results.Select(r => r!).ToList();
        var markdown = Table(names, runs, rest, seeds);
        File.WriteAllText(Path.Combine(folder, "comparison.md"), markdown);
        Chart(Path.Combine(folder, "comparison.png"), names, [.. runs.Where(r => r.Result is not null).Select(r => r.Result!)]);
        ResultsPage.Write(folder, "comparison: " + string.Join(", ", names), "# Comparison\n\n" + markdown + "\n![comparison](comparison.png)\n");
        output.Write(markdown);
        output.WriteLine($"compare: wrote {Path.Combine(folder, "comparison.md")}, comparison.png and index.html");
        return runs.All(r => r.Failure is null) ? ExperimentExitCode.Success : ExperimentExitCode.Failure;
    }

    /// <summary>
    /// The diverged test tasks of every seed (✗ a failed run) in the evaluation cell of the K and inner steps the
    /// experiment trained with (its <c>Shots</c> and <c>InnerSteps</c> options): issue 16's "no test task diverges at the
    /// step count it was trained for". "–" without such options or a loss table; "not evaluated" when the table has no such cell.
    /// </summary>
    private static string AtTraining(IReadOnlyList<SeedRun> mine, RunResult first)
    {
        if (!first.Options.TryGetValue("Shots", out var shotsText) || !first.Options.TryGetValue("InnerSteps", out var stepsText)
            || !int.TryParse(shotsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k)
            || !int.TryParse(stepsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s)
            || first.Evaluation.All(e => double.IsNaN(e.Median)))
            return "–";
        var label = string.Create(CultureInfo.InvariantCulture, $"K={k}, {s} step{(s == 1 ? "" : "s")}: ");
        var cells = mine.Select(r => r.Result?.Evaluation.FirstOrDefault(e => e.Model == Models.MetaLearned && e.Shots == k && e.Steps == s)).ToList();
        if (Enumerable.Range(0, mine.Count).All(i => mine[i].Result is null || cells[i] is null)) return label + "not evaluated";
        return label + string.Join(", ", mine.Select((r, i) => r.Result is null ? "✗" : cells[i]?.Diverged.ToString(CultureInfo.InvariantCulture) ?? "–"));
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/>, in which * stands for any run of characters.</summary>
    internal static bool Matches(string pattern, string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$");

    /// <summary>The result of the run with seed <paramref name="seed"/> among <paramref name="experimentRoot"/>'s run folders (one per seed).</summary>
    private static RunResult ReadResult(string experimentRoot, string seed) =>
        Directory.GetDirectories(experimentRoot).OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => Path.Combine(d, RunResult.FileName)).Where(File.Exists)
            .Select(f => JsonSerializer.Deserialize<RunResult>(File.ReadAllText(f), ExperimentRun.JsonOptions)!)
            .Last(r => r.Options.TryGetValue("Seed", out var s) && s == seed);

    /// <summary>Runs one child; returns its exit code, the reason of its first error line, and its error log if it failed.</summary>
    private static (int Code, string Reason, string Log) RunChild(string[] args)
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
        var log = process.ExitCode is not (0 or ExperimentExitCode.Stopped)
            ? $"compare: {string.Join(' ', args)} failed\n{errors.Result}"
            : "";
        return (process.ExitCode, firstError.Length > 0 ? firstError["error:".Length..].Trim() : "", log);
    }

    /// <summary>
    /// Mean over seeds and the half-width of its 95 % CI. A value that is not finite (a seed whose mean over tasks is ∞ or
    /// NaN) makes the mean +∞ with no CI: an exploding seed is never averaged away. No values: NaN (nothing to show).
    /// </summary>
    internal static (double Mean, double Ci) Stat(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return (double.NaN, double.NaN);
        if (!values.All(double.IsFinite)) return (double.PositiveInfinity, double.NaN);
        var mean = values.Average();
        if (values.Count < 2) return (mean, double.NaN);
        var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return (mean, 1.96 * sd / Math.Sqrt(values.Count));
    }

    private static string Cell((double Mean, double Ci) s) =>
        double.IsNaN(s.Mean) ? "–" : double.IsFinite(s.Ci) ? $"{EvaluationReport.Number(s.Mean)} ± {EvaluationReport.Number(s.Ci)}" : EvaluationReport.Number(s.Mean);

    /// <summary>One seed's run of one experiment: its result, or why it failed.</summary>
    /// <param name="Experiment">The experiment's name.</param>
    /// <param name="Seed">The seed (1..N).</param>
    /// <param name="Result">The run's <c>result.json</c>; null when the run failed.</param>
    /// <param name="Failure">Why the run failed (exit code, and the error line with its iteration); null when it completed.</param>
    internal sealed record SeedRun(string Experiment, int Seed, RunResult? Result, string? Failure);

    /// <summary>
    /// The comparison table: one row per experiment with its failed runs, each evaluation cell (K, 1 and 10 steps) as
    /// the mean over seeds of each seed's mean over all test tasks ± 95 % CI over seeds, the mean over seeds of each
    /// seed's median over tasks, and the diverged test tasks of every seed in seed order (✗ a failed run); the grid
    /// results likewise; then the failed runs with their reasons.
    /// </summary>
    internal static string Table(IReadOnlyList<string> names, IReadOnlyList<SeedRun> runs, IReadOnlyList<string> shared, int seeds)
    {
        var results = runs.Where(r => r.Result is not null).Select(r => r.Result!).ToList();
        var evalColumns = results.SelectMany(r => r.Evaluation).Where(r => r.Model == Models.MetaLearned)
            .Select(r => (r.Shots, r.Steps)).Where(c => c.Steps is 1 or 10).Distinct().Order().ToList();
        var hasGrid = results.Any(r => r.Results.ContainsKey("grid.mean"));
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Comparison over seeds 1–{seeds}; shared options: `{(shared.Count == 0 ? "(defaults)" : string.Join(' ', shared))}`.");
        sb.AppendLine();
        sb.AppendLine("Each loss cell: the mean over seeds of each seed's mean over all test tasks ± 95 % CI over seeds (∞ when any seed's mean is " +
            "not finite: no seed is averaged away); the mean over seeds of each seed's median over tasks; and the test tasks that diverged in each " +
            string.Create(CultureInfo.InvariantCulture, $"seed, in seed order (loss not finite or above {Divergence.Factor:0}× the larger of the task's loss before adaptation and its targets' variance; ✗ = the run failed). ") +
            "Failed runs are left out of the means and listed below the table.");
        sb.AppendLine();
        sb.Append("| experiment | algorithm | failed runs | diverged per seed at the trained K, steps |");
        foreach (var (k, s) in evalColumns) sb.Append(CultureInfo.InvariantCulture, $" K={k}, {s} step{(s == 1 ? "" : "s")} |");
        if (hasGrid) sb.Append(" grid mean | grid median | grid worst 10 % | grid diverged per seed |");
        sb.AppendLine(" meta-it/s | peak RSS (MB) |");
        sb.Append("|---|---|---:|---|");
        foreach (var _ in evalColumns) sb.Append("---:|");
        if (hasGrid) sb.Append("---:|---:|---:|---:|");
        sb.AppendLine("---:|---:|");
        foreach (var name in names)
        {
            var mine = runs.Where(r => r.Experiment == name).OrderBy(r => r.Seed).ToList();
            var done = mine.Where(r => r.Result is not null).Select(r => r.Result!).ToList();
            if (done.Count == 0)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | every run failed (below) |");
                continue;
            }
            var failed = mine.Where(r => r.Result is null).Select(r => r.Seed).ToList();
            var failedText = failed.Count == 0 ? "0" : string.Create(CultureInfo.InvariantCulture, $"{failed.Count} of {mine.Count} (seed{(failed.Count == 1 ? "" : "s")} {string.Join(", ", failed)})");
            // A run whose meta-loss ended far above its start completed and is in the means, but it is not a success.
            var trainingDiverged = mine.Where(r => r.Result is { TrainingDiverged: true }).Select(r => r.Seed).ToList();
            if (trainingDiverged.Count > 0)
                failedText += string.Create(CultureInfo.InvariantCulture, $"; diverged in training: seed{(trainingDiverged.Count == 1 ? "" : "s")} {string.Join(", ", trainingDiverged)}");
            sb.Append(CultureInfo.InvariantCulture, $"| {name} | {done[0].Algorithm} | {failedText} | {AtTraining(mine, done[0])} |");
            foreach (var (k, s) in evalColumns)
            {
                var cells = mine.Select(r => r.Result?.Evaluation.FirstOrDefault(e => e.Model == Models.MetaLearned && e.Shots == k && e.Steps == s)).ToList();
                var present = cells.Where(c => c is not null).Select(c => c!).ToList();
                sb.Append(' ');
                if (present.Count == 0) sb.Append('–');
                else if (present.All(c => double.IsNaN(c.Median)))
                    sb.Append(Cell(Stat([.. present.Select(c => c.Mean)])));   // an accuracy table: no median, nothing diverges
                else
                {
                    var perSeed = mine.Zip(cells, (r, c) => r.Result is null ? "✗" : c is null ? "–" : c.Diverged.ToString(CultureInfo.InvariantCulture));
                    sb.Append(Cell(Stat([.. present.Select(c => c.Mean)])))
                        .Append("; median ").Append(Cell(Stat([.. present.Select(c => c.Median)])))
                        .Append("; diverged ").Append(string.Join(", ", perSeed));
                }
                sb.Append(" |");
            }
            if (hasGrid)
            {
                foreach (var key in new[] { "grid.mean", "grid.median", "grid.worst10" })
                {
                    var values = done.Where(r => r.Results.ContainsKey(key)).Select(r => r.Results[key]).ToList();
                    sb.Append(' ').Append(Cell(Stat(values))).Append(" |");
                }
                var grid = mine.Select(r => r.Result is null ? "✗"
                    : r.Result.Results.TryGetValue("grid.diverged", out var d) ? d.ToString("0", CultureInfo.InvariantCulture) : "–");
                sb.Append(' ').Append(string.Join(", ", grid)).Append(" |");
            }
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $" {done.Average(r => r.IterationsPerSecond):0} | {done.Max(r => r.PeakMegabytes):0} |"));
        }
        var failures = runs.Where(r => r.Failure is not null).ToList();
        if (failures.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Failed runs (left out of the means):");
            sb.AppendLine();
            foreach (var failure in failures) sb.AppendLine(CultureInfo.InvariantCulture, $"- {failure.Experiment}, seed {failure.Seed}: {failure.Failure}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// The bar chart of the comparison: one bar per experiment (mean over its completed seeds ± 95 % CI, its value on
    /// top). Where test tasks diverged in some seed the bar is orange and shows the median over tasks instead (mean over
    /// seeds), since the mean is then dominated by a few tasks and may be ∞; the table has both. An experiment none of
    /// whose runs completed gets no bar but the words "all runs failed", and one whose plotted value is not finite
    /// "diverged", so that no failure looks like the best result.
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
                List<double> metric;
                bool diverging;
                if (runs.Any(r => r.Evaluation.Count > 0))
                {
                    var cells = runs.Select(r => r.Evaluation.FirstOrDefault(e => e.Model == Models.MetaLearned && e.Shots == 10 && e.Steps == 10)).ToList();
                    diverging = cells.Any(c => c is { Diverged: > 0 } || c is not null && !double.IsFinite(c.Mean));
                    metric = [.. cells.Select(c => c is null ? double.NaN : diverging && !double.IsNaN(c.Median) ? c.Median : c.Mean)];
                }
                else
                {
                    diverging = runs.Any(r => r.Results.GetValueOrDefault("grid.diverged", 0) > 0 || !double.IsFinite(r.Results.GetValueOrDefault("grid.mean", 0)));
                    metric = [.. runs.Select(r => r.Results.GetValueOrDefault(diverging ? "grid.median" : "grid.mean", double.NaN))];
                }
                var (mean, ci) = Stat(metric);
                if (!double.IsFinite(mean))
                {
                    missing.Add((i, "diverged"));
                    continue;
                }
                bars.Add(new ScottPlot.Bar
                {
                    Position = i,
                    Value = mean,
                    Error = double.IsFinite(ci) ? ci : 0,
                    Label = (diverging ? "median " : "") + mean.ToString("0.000", CultureInfo.InvariantCulture),
                    FillColor = diverging ? ScottPlot.Colors.DarkOrange : ScottPlot.Colors.SteelBlue,
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
            plot.Title(bars.Any(b => b.FillColor == ScottPlot.Colors.DarkOrange)
                ? "comparison: mean over seeds ± 95 % CI (orange: median over tasks, where test tasks diverged)"
                : "comparison: mean over seeds ± 95 % CI");
            plot.SavePng(path, 1000, 600);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine("compare: chart not written: " + e.Message);
        }
    }
}
