using System.Globalization;
using System.Text.RegularExpressions;
using Meta.Hosting;
using Meta.Tasks.Images;

namespace Meta.Tasks.Data;

/// <summary>
/// A regression data set read from a CSV file with a header row and a task column: each task's rows are its points,
/// with <see cref="InputColumns"/> as inputs and <see cref="TargetColumns"/> as targets. Values are held as float32,
/// row-major, the rows of each task contiguous and in file order; tasks in order of first appearance.
/// </summary>
public sealed partial class CsvTaskTable
{
    /// <summary>The accepted file layout, as printed in error messages.</summary>
    public const string ExpectedLayout = "a CSV file with a header row, e.g. task,x,y, then one row per point (numbers in the input and target columns)";

    private CsvTaskTable(string path, string[] tasks, int[] offsets, int[] counts, float[] inputs, float[] targets, string[] inputColumns, string[] targetColumns)
    {
        Path = path;
        Tasks = tasks;
        Offsets = offsets;
        Counts = counts;
        Inputs = inputs;
        Targets = targets;
        InputColumns = inputColumns;
        TargetColumns = targetColumns;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Task names, in order of first appearance.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>The first row of each task in <see cref="Inputs"/> / <see cref="Targets"/>.</summary>
    public IReadOnlyList<int> Offsets { get; }

    /// <summary>Rows (points) per task.</summary>
    public IReadOnlyList<int> Counts { get; }

    /// <summary>Inputs [rows, <see cref="InputColumns"/>.Count], row-major.</summary>
    public float[] Inputs { get; }

    /// <summary>Targets [rows, <see cref="TargetColumns"/>.Count], row-major.</summary>
    public float[] Targets { get; }

    /// <summary>The input columns, in the order given.</summary>
    public IReadOnlyList<string> InputColumns { get; }

    /// <summary>The target columns, in the order given.</summary>
    public IReadOnlyList<string> TargetColumns { get; }

    /// <summary>Total rows.</summary>
    public int Rows => Counts.Sum();

    /// <summary>
    /// Reads <paramref name="path"/>. Columns: <paramref name="inputs"/> and <paramref name="targets"/> are
    /// comma-separated column names; an empty list takes the default — targets: the y-columns (<c>y</c>, <c>y1</c>,
    /// <c>y_…</c>) if the header has any, else the last column that is neither the task column nor an input; inputs:
    /// the x-columns (<c>x</c>, <c>x1</c>, <c>x_…</c>) if any, else every other column. Other columns are ignored.
    /// Throws <see cref="DatasetException"/> (missing or empty file, a row of the wrong width, a non-numeric cell) or
    /// <see cref="OptionException"/> (a named column that is not in the header) with a one-line message.
    /// </summary>
    public static CsvTaskTable Load(string path, string taskColumn, string inputs, string targets)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = DataFiles.Resolve(path);
        if (Directory.Exists(file))
            throw new DatasetException($"CSV regression data '{file}' is a folder; expected {ExpectedLayout}; point --data at the file");
        if (!File.Exists(file))
            throw new DatasetException($"CSV regression data not found: '{path}' does not exist; expected {ExpectedLayout}; point --data at the file");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw DatasetException.Corrupt(file, e.Message);
        }
        var first = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (first < 0) throw new DatasetException($"'{file}' is empty; expected {ExpectedLayout} (--data)");

        var header = Split(lines[first], file, first + 1);
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i].Length == 0) throw new DatasetException($"'{file}' line {first + 1}: header column {i + 1} has no name; expected {ExpectedLayout} (--data)");
            var twin = Array.FindIndex(header, 0, i, h => h == header[i]);
            if (twin >= 0) throw new DatasetException($"'{file}' line {first + 1}: the header names column '{header[i]}' twice; expected unique column names (--data)");
        }
        var columns = string.Join(", ", header);
        var task = Array.IndexOf(header, taskColumn);
        if (task < 0)
            throw new DatasetException($"'{file}': the header has no task column '{taskColumn}' (--task-column); its columns are {columns}"
                + (header.Length == 1 && header[0].IndexOfAny([';', '\t']) >= 0 ? " (cells are separated by commas, not semicolons or tabs)" : ""));

        var named = (Inputs: Names(inputs), Targets: Names(targets));
        foreach (var (list, flag) in new[] { (named.Inputs, "--inputs"), (named.Targets, "--targets") })
        {
            foreach (var name in list)
            {
                if (Array.IndexOf(header, name) < 0)
                    throw new OptionException($"{flag}: column '{name}' is not in the header of '{file}'; its columns are {columns}");
                if (name == taskColumn)
                    throw new OptionException($"{flag}: column '{name}' is the task column (--task-column); name input and target columns");
            }
        }
        var others = header.Where((_, i) => i != task).ToArray();
        var targetNames = named.Targets.Length > 0 ? named.Targets
            : others.Where(IsY).ToArray() is { Length: > 0 } ys ? ys
            : others.Where(c => !named.Inputs.Contains(c)).TakeLast(1).ToArray();
        var inputNames = named.Inputs.Length > 0 ? named.Inputs
            : others.Where(c => IsX(c) && !targetNames.Contains(c)).ToArray() is { Length: > 0 } xs ? xs
            : others.Where(c => !targetNames.Contains(c)).ToArray();
        if (inputNames.Length == 0 || targetNames.Length == 0)
            throw new DatasetException($"'{file}': besides the task column '{taskColumn}' the header has {(others.Length == 0 ? "no columns" : "only " + string.Join(", ", others))}; a regression needs at least one input and one target column (--data, --inputs, --targets)");
        if (inputNames.Intersect(targetNames).FirstOrDefault() is { } both)
            throw new OptionException($"--inputs / --targets: column '{both}' is both an input and a target; name each column once");

        var inputIndex = inputNames.Select(n => Array.IndexOf(header, n)).ToArray();
        var targetIndex = targetNames.Select(n => Array.IndexOf(header, n)).ToArray();
        var rowsByTask = new Dictionary<string, List<(float[] X, float[] Y)>>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var l = first + 1; l < lines.Length; l++)
        {
            if (lines[l].Trim().Length == 0) continue;
            var cells = Split(lines[l], file, l + 1);
            if (cells.Length != header.Length)
                throw new DatasetException($"'{file}' line {l + 1} has {cells.Length} cell{(cells.Length == 1 ? "" : "s")}; the header has {header.Length} ({columns}) (--data)");
            var name = cells[task];
            if (name.Length == 0) throw new DatasetException($"'{file}' line {l + 1}: the task column '{taskColumn}' is empty; expected a task name in every row (--data)");
            var x = new float[inputIndex.Length];
            var y = new float[targetIndex.Length];
            for (var i = 0; i < x.Length; i++) x[i] = Number(cells[inputIndex[i]], file, l + 1, header[inputIndex[i]]);
            for (var i = 0; i < y.Length; i++) y[i] = Number(cells[targetIndex[i]], file, l + 1, header[targetIndex[i]]);
            if (!rowsByTask.TryGetValue(name, out var rows))
            {
                rows = [];
                rowsByTask[name] = rows;
                order.Add(name);
            }
            rows.Add((x, y));
        }
        if (order.Count == 0) throw new DatasetException($"'{file}' has a header but no rows; expected {ExpectedLayout} (--data)");

        var offsets = new int[order.Count];
        var counts = new int[order.Count];
        var total = rowsByTask.Values.Sum(r => r.Count);
        var inputData = new float[total * inputIndex.Length];
        var targetData = new float[total * targetIndex.Length];
        var row = 0;
        for (var t = 0; t < order.Count; t++)
        {
            offsets[t] = row;
            counts[t] = rowsByTask[order[t]].Count;
            foreach (var (x, y) in rowsByTask[order[t]])
            {
                x.CopyTo(inputData, row * x.Length);
                y.CopyTo(targetData, row * y.Length);
                row++;
            }
        }
        return new CsvTaskTable(file, [.. order], offsets, counts, inputData, targetData, inputNames, targetNames);
    }

    private static string[] Names(string list) =>
        string.IsNullOrWhiteSpace(list) ? [] : [.. list.Split(',').Select(n => n.Trim()).Where(n => n.Length > 0).Distinct(StringComparer.Ordinal)];

    [GeneratedRegex("^x([0-9]+|_.*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex XColumn();

    [GeneratedRegex("^y([0-9]+|_.*)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex YColumn();

    /// <summary>Whether a column counts as an input by default: <c>x</c>, <c>x1</c>, <c>x_speed</c> (any case).</summary>
    public static bool IsX(string column) => XColumn().IsMatch(column);

    /// <summary>Whether a column counts as a target by default: <c>y</c>, <c>y2</c>, <c>y_load</c> (any case).</summary>
    public static bool IsY(string column) => YColumn().IsMatch(column);

    private static float Number(string cell, string file, int line, string column)
    {
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || Math.Abs(value) > float.MaxValue)
            throw new DatasetException($"'{file}' line {line}, column '{column}': '{cell}' is not a number; expected a finite number (e.g. 1.5 or -2e-3) in every input and target cell (--data)");
        return (float)value;
    }

    /// <summary>One CSV line's cells: comma-separated, optionally double-quoted ("" inside quotes is a quote), trimmed.</summary>
    private static string[] Split(string line, string file, int number)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var i = 0;
        while (true)
        {
            while (i < line.Length && line[i] is ' ' or '\t') i++;
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                        throw new DatasetException($"'{file}' line {number}: a quoted cell is not closed; expected \"…\" within one line (--data)");
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            cell.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    cell.Append(line[i++]);
                }
                while (i < line.Length && line[i] is ' ' or '\t') i++;
                if (i < line.Length && line[i] != ',')
                    throw new DatasetException($"'{file}' line {number}: text follows a quoted cell; expected a comma after the closing quote (--data)");
                cells.Add(cell.ToString());
            }
            else
            {
                var end = line.IndexOf(',', i);
                if (end < 0) end = line.Length;
                cells.Add(line[i..end].Trim());
                i = end;
            }
            cell.Clear();
            if (i >= line.Length) break;
            i++; // the comma
            if (i == line.Length)
            {
                cells.Add("");
                break;
            }
        }
        return [.. cells];
    }
}
