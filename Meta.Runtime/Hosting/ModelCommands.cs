using System.Globalization;
using System.Text;
using Meta.Checkpoints;
using Meta.Tasks.Images;

namespace Meta.Hosting;

/// <summary>
/// The commands that use a trained model:
/// <c>adapt &lt;run folder|latest&gt; --support S --predict P [--steps N] [--output file] [--runs root] [--invert]</c> and
/// <c>export &lt;run folder|latest&gt; --format safetensors [--output file] [--runs root]</c>.
/// Regression reads CSV files with a header (input columns named x…, target columns y…); classification reads a folder
/// with one sub-folder of images per class (the support set) and a folder of images to label.
/// </summary>
public static class ModelCommands
{
    /// <summary>Whether <paramref name="args"/> names one of these commands.</summary>
    public static bool Handles(string[] args) => args is ["adapt" or "export", ..];

    /// <summary>Runs the command; returns 0, or 2 for bad input (one line on <paramref name="error"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            return args[0] == "adapt" ? Adapt(args, output, error) : Export(args, output);
        }
        catch (Exception e) when (e is MetaModelException or DatasetException or OptionException or CheckpointException)
        {
            error.WriteLine("error: " + e.Message);
            return ExperimentExitCode.BadInput;
        }
    }

    private static int Adapt(string[] args, TextWriter output, TextWriter error)
    {
        var (target, options) = Parse(args, ["--support", "--predict", "--steps", "--output", "--runs"], ["--invert"]);
        var support = Required(options, "--support", "adapt");
        var predict = Required(options, "--predict", "adapt");
        int? steps = null;
        if (options.TryGetValue("--steps", out var text))
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 0)
                throw OptionException.Rejected("--steps", text, "a whole number of inner steps ≥ 0");
            steps = n;
        }
        using var model = MetaModel.Load(Resolve(target, options));
        string result;
        if (model.Shape.Classification)
        {
            var invert = options.ContainsKey("--invert");
            var (classes, images, labels) = ReadClassFolders(support, model, invert);
            var (files, queries) = ReadImageFolder(predict, model, invert);
            using var adapted = model.Adapt(images, labels, steps);
            var predictions = adapted.Predict(queries);
            var csv = new StringBuilder("file,label," + string.Join(",", classes.Select(c => "p_" + Csv(c))) + "\n");
            for (var i = 0; i < files.Count; i++)
            {
                csv.Append(Csv(Path.GetFileName(files[i]))).Append(',').Append(Csv(classes[predictions.Labels[i]]));
                for (var c = 0; c < classes.Count; c++) csv.Append(',').Append(predictions.Probabilities[i, c].ToString("0.######", CultureInfo.InvariantCulture));
                csv.Append('\n');
            }
            result = csv.ToString();
        }
        else
        {
            var supportTable = RegressionCsv.Read(support, model.Shape.InputFeatures, model.Shape.Outputs, requireTargets: true);
            var queryTable = RegressionCsv.Read(predict, model.Shape.InputFeatures, model.Shape.Outputs, requireTargets: false);
            using var adapted = model.Adapt(supportTable.X, supportTable.Y!, steps);
            var y = adapted.Predict(queryTable.X);
            result = RegressionCsv.Write(queryTable, y);
            if (queryTable.Y is { } truth)
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mse against the targets in {Path.GetFileName(predict)}: {RegressionCsv.Mse(y, truth):0.######}"));
        }
        if (options.TryGetValue("--output", out var file))
        {
            WriteAtomically(file, result);
            var count = steps ?? model.DefaultSteps;
            output.WriteLine($"adapted {model.Experiment} ({model.Algorithm.Name}, {count} step{(count == 1 ? "" : "s")}); predictions written to {Path.GetFullPath(file)}");
        }
        else
        {
            output.Write(result);
        }
        return ExperimentExitCode.Success;
    }

    private static int Export(string[] args, TextWriter output)
    {
        var (target, options) = Parse(args, ["--format", "--output", "--runs"], []);
        var format = options.GetValueOrDefault("--format", "safetensors");
        if (format != "safetensors") throw OptionException.Rejected("--format", format, "safetensors");
        using var model = MetaModel.Load(Resolve(target, options));
        var file = options.GetValueOrDefault("--output") ?? Path.Combine(model.Folder, "model.safetensors");
        model.ExportSafetensors(file);
        output.WriteLine($"exported {model.Experiment} ({model.Algorithm.Name}, iteration {model.Iteration}, {model.Network.Layout.Count} parameters) to {Path.GetFullPath(file)}");
        return ExperimentExitCode.Success;
    }

    /// <summary><c>latest</c> alone: the newest run with a model under the runs root, whatever its experiment.</summary>
    private static string Resolve(string target, Dictionary<string, string> options)
    {
        if (!string.Equals(target, "latest", StringComparison.OrdinalIgnoreCase)) return target;
        var root = Path.GetFullPath(options.GetValueOrDefault("--runs") ?? ExperimentDefaults.Output);
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root).SelectMany(Directory.GetDirectories)
                .Where(f => File.Exists(Path.Combine(f, ModelManifest.FileName)))
                .Select(folder => (folder, checkpoint: new CheckpointStore(folder, 1).Latest()))
                .Where(x => x.checkpoint is not null)
                .OrderBy(x => File.GetLastWriteTimeUtc(x.checkpoint!))
                .LastOrDefault()
            : default;
        return newest.folder ?? throw new MetaModelException($"latest: no run with model.json and a checkpoint under '{root}' (set the runs folder with --runs)");
    }

    private static (string Target, Dictionary<string, string> Options) Parse(string[] args, string[] valued, string[] flags)
    {
        var command = args[0];
        if (args.Length < 2 || args[1].StartsWith('-'))
            throw new OptionException($"{command} needs a run folder (or 'latest') first: {command} <run folder|latest> …");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 2; i < args.Length; i++)
        {
            if (flags.Contains(args[i])) { options[args[i]] = "true"; continue; }
            if (!valued.Contains(args[i]))
                throw new OptionException($"{command}: '{args[i]}' is not accepted; expected {string.Join(", ", valued.Concat(flags))}");
            if (i + 1 >= args.Length) throw new OptionException($"{command}: {args[i]} needs a value");
            options[args[i]] = args[++i];
        }
        return (args[1], options);
    }

    private static string Required(Dictionary<string, string> options, string name, string command) =>
        options.TryGetValue(name, out var value) ? value : throw new OptionException($"{command} needs {name}");

    private static (IReadOnlyList<string> Classes, float[][,,] Images, int[] Labels) ReadClassFolders(string folder, MetaModel model, bool invert)
    {
        if (!Directory.Exists(folder))
            throw new DatasetException($"--support: '{folder}' is not a folder; expected one sub-folder of images per class ({model.Shape.Outputs} classes)");
        var classes = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToList();
        if (classes.Count != model.Shape.Outputs)
            throw new DatasetException($"--support: '{folder}' has {classes.Count} class folders; this model tells {model.Shape.Outputs} classes apart, so expected {model.Shape.Outputs}");
        var images = new List<float[,,]>();
        var labels = new List<int>();
        for (var c = 0; c < classes.Count; c++)
        {
            var files = ImageFiles(classes[c]);
            if (files.Count == 0) throw new DatasetException($"--support: class folder '{classes[c]}' has no images (png, jpg, jpeg, bmp, gif, webp)");
            images.AddRange(Decode(files, model, invert));
            labels.AddRange(Enumerable.Repeat(c, files.Count));
        }
        return ([.. classes.Select(Path.GetFileName)!], [.. images], [.. labels]);
    }

    private static (IReadOnlyList<string> Files, float[][,,] Images) ReadImageFolder(string folder, MetaModel model, bool invert)
    {
        if (!Directory.Exists(folder)) throw new DatasetException($"--predict: '{folder}' is not a folder of images to label");
        var files = ImageFiles(folder);
        if (files.Count == 0) throw new DatasetException($"--predict: '{folder}' has no images (png, jpg, jpeg, bmp, gif, webp)");
        return (files, Decode(files, model, invert));
    }

    private static List<string> ImageFiles(string folder) =>
        [.. Directory.GetFiles(folder).Where(f => Path.GetExtension(f).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg" or ".bmp" or ".gif" or ".webp").Order(StringComparer.Ordinal)];

    private static float[][,,] Decode(List<string> files, MetaModel model, bool invert)
    {
        var input = model.Shape.Input;
        if (input.Count != 3 || input[1] != input[2] || input[0] is not (1 or 3))
            throw new MetaModelException($"this model's inputs are [{string.Join(", ", input)}]; images are decoded only for square 1- or 3-channel inputs");
        var (channels, size) = ((int)input[0], (int)input[1]);
        var pixels = ImageDecoder.DecodeAll(files, channels, size, invert);
        var result = new float[files.Count][,,];
        var each = channels * size * size;
        for (var i = 0; i < files.Count; i++)
        {
            var image = new float[channels, size, size];
            var flat = new float[each];
            for (var j = 0; j < each; j++) flat[j] = pixels[i * each + j] / 255f;
            Buffer.BlockCopy(flat, 0, image, 0, each * sizeof(float));
            result[i] = image;
        }
        return result;
    }

    private static string Csv(string value) =>
        value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static void WriteAtomically(string path, string content)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new OptionException($"--output: the folder '{folder}' does not exist");
        File.WriteAllText(full + ".tmp", content);
        File.Move(full + ".tmp", full, overwrite: true);
    }
}

/// <summary>
/// A regression CSV: a header, then one row per point. Input columns are named <c>x</c> or <c>x1</c>, <c>x2</c>, …;
/// target columns <c>y</c> or <c>y1</c>, … (in that order within each kind).
/// </summary>
public sealed record RegressionCsv(string[] InputNames, float[,] X, string[]? TargetNames, float[,]? Y)
{
    /// <summary>
    /// Reads <paramref name="path"/>; it must have <paramref name="inputs"/> x columns and, when
    /// <paramref name="requireTargets"/>, <paramref name="outputs"/> y columns. Throws <see cref="DatasetException"/> naming the file, line and fault.
    /// </summary>
    public static RegressionCsv Read(string path, int inputs, int outputs, bool requireTargets)
    {
        var option = requireTargets ? "--support" : "--predict";
        if (!File.Exists(path)) throw new DatasetException($"{option}: '{path}' does not exist; expected a CSV file with a header x…,y…");
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        if (lines.Count < 2) throw new DatasetException($"{option}: '{path}' has no data rows; expected a header x…,y… and one row per point");
        var header = lines[0].Split(',').Select(h => h.Trim().Trim('"')).ToArray();
        var xs = header.Select((h, i) => (h, i)).Where(c => c.h.StartsWith('x') || c.h.StartsWith('X')).Select(c => c.i).ToArray();
        var ys = header.Select((h, i) => (h, i)).Where(c => c.h.StartsWith('y') || c.h.StartsWith('Y')).Select(c => c.i).ToArray();
        if (xs.Length + ys.Length != header.Length)
            throw new DatasetException($"{option}: '{path}' header column '{header.First(h => !(h.StartsWith('x') || h.StartsWith('X') || h.StartsWith('y') || h.StartsWith('Y')))}' is not accepted; expected input columns x (or x1…x{inputs}) and target columns y (or y1…y{outputs})");
        if (xs.Length != inputs) throw new DatasetException($"{option}: '{path}' has {xs.Length} input columns (x…); this model takes {inputs}");
        var hasTargets = ys.Length > 0;
        if (requireTargets && ys.Length != outputs) throw new DatasetException($"{option}: '{path}' has {ys.Length} target columns (y…); this model predicts {outputs}, and the support set needs them");
        if (hasTargets && ys.Length != outputs) throw new DatasetException($"{option}: '{path}' has {ys.Length} target columns (y…); expected none or {outputs}");
        var rows = lines.Count - 1;
        var x = new float[rows, xs.Length];
        var y = hasTargets ? new float[rows, ys.Length] : null;
        for (var r = 0; r < rows; r++)
        {
            var cells = lines[r + 1].Split(',');
            if (cells.Length != header.Length)
                throw new DatasetException($"{option}: '{path}' line {r + 2} has {cells.Length} cells; the header has {header.Length}");
            for (var c = 0; c < xs.Length; c++) x[r, c] = Cell(cells[xs[c]], path, r + 2, header[xs[c]], option);
            for (var c = 0; c < ys.Length; c++) y![r, c] = Cell(cells[ys[c]], path, r + 2, header[ys[c]], option);
        }
        return new RegressionCsv([.. xs.Select(i => header[i])], x, hasTargets ? [.. ys.Select(i => header[i])] : null, y);
    }

    private static float Cell(string text, string path, int line, string column, string option) =>
        float.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
            ? v
            : throw new DatasetException($"{option}: '{path}' line {line}, column {column}: '{text.Trim()}' is not a finite number");

    /// <summary>The inputs with <paramref name="predictions"/> as CSV: the x columns, then y columns named as in the file (or y, y1…).</summary>
    public static string Write(RegressionCsv inputs, float[,] predictions)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(predictions);
        var outputs = predictions.GetLength(1);
        var names = inputs.TargetNames ?? (outputs == 1 ? ["y"] : [.. Enumerable.Range(1, outputs).Select(i => "y" + i.ToString(CultureInfo.InvariantCulture))]);
        var sb = new StringBuilder(string.Join(",", inputs.InputNames.Concat(names))).Append('\n');
        for (var r = 0; r < predictions.GetLength(0); r++)
        {
            var cells = Enumerable.Range(0, inputs.X.GetLength(1)).Select(c => inputs.X[r, c].ToString("R", CultureInfo.InvariantCulture))
                .Concat(Enumerable.Range(0, outputs).Select(c => predictions[r, c].ToString("R", CultureInfo.InvariantCulture)));
            sb.AppendJoin(',', cells).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Mean squared error of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    public static double Mse(float[,] predictions, float[,] targets)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        double sum = 0;
        foreach (var (p, t) in predictions.Cast<float>().Zip(targets.Cast<float>())) sum += (p - t) * (double)(p - t);
        return sum / predictions.Length;
    }
}
