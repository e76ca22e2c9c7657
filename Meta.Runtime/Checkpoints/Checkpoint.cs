using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Meta.Checkpoints;

/// <summary>A checkpoint that cannot be used: missing, truncated, corrupt, or written by another configuration.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>Something whose whole state goes into a checkpoint and comes back bit-identical.</summary>
public interface ICheckpointable
{
    /// <summary>Writes the state under names starting with <paramref name="prefix"/>.</summary>
    void Save(string prefix, CheckpointWriter writer);

    /// <summary>Restores the state written by <see cref="Save"/>; throws <see cref="CheckpointException"/> if it does not fit.</summary>
    void Load(string prefix, CheckpointReader reader);
}

/// <summary>What a checkpoint says about itself (stored as JSON at the head of the file).</summary>
/// <param name="Experiment">Experiment name.</param>
/// <param name="Algorithm">Algorithm tag.</param>
/// <param name="Iteration">Meta-iterations completed when it was written.</param>
/// <param name="ConfigurationHash">Hash of the options that shape the state (see <see cref="ConfigurationHash"/>).</param>
/// <param name="Versions">Library versions (Meta, TorchSharp, .NET).</param>
/// <param name="WrittenUtc">When it was written.</param>
public sealed record CheckpointManifest(string Experiment, string Algorithm, long Iteration, string ConfigurationHash,
    IReadOnlyDictionary<string, string> Versions, DateTimeOffset WrittenUtc)
{
    /// <summary>The versions of the libraries in this process.</summary>
    public static IReadOnlyDictionary<string, string> CurrentVersions() => new Dictionary<string, string>
    {
        ["meta"] = typeof(CheckpointManifest).Assembly.GetName().Version?.ToString() ?? "?",
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?",
        ["dotnet"] = Environment.Version.ToString(),
    };
}

/// <summary>Collects named tensors and values for one checkpoint file.</summary>
public sealed class CheckpointWriter
{
    internal readonly List<(string Name, string Kind, string DType, long[] Shape, byte[] Data)> Entries = [];

    /// <summary>Stores a copy of <paramref name="value"/>'s values (any dtype, any shape).</summary>
    public void Tensor(string name, Tensor value)
    {
        using var contiguous = value.detach().cpu().contiguous();
        Entries.Add((name, "tensor", contiguous.dtype.ToString(), contiguous.Dims(), contiguous.bytes.ToArray()));
    }

    /// <summary>Stores a whole number.</summary>
    public void Int64(string name, long value) => Entries.Add((name, "int64", "", [], BitConverter.GetBytes(value)));

    /// <summary>Stores a real number bit-exactly.</summary>
    public void Double(string name, double value) => Entries.Add((name, "double", "", [], BitConverter.GetBytes(value)));

    /// <summary>Stores an array of reals bit-exactly.</summary>
    public void Doubles(string name, double[] values)
    {
        var bytes = new byte[values.Length * sizeof(double)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        Entries.Add((name, "doubles", "", [values.Length], bytes));
    }

    /// <summary>Stores text.</summary>
    public void Text(string name, string value) => Entries.Add((name, "text", "", [], Encoding.UTF8.GetBytes(value)));
}

/// <summary>Reads named entries of a loaded checkpoint.</summary>
public sealed class CheckpointReader
{
    private readonly Dictionary<string, (string Kind, string DType, long[] Shape, byte[] Data)> _entries;

    internal CheckpointReader(CheckpointManifest manifest, Dictionary<string, (string, string, long[], byte[])> entries)
    {
        Manifest = manifest;
        _entries = entries;
    }

    /// <summary>The checkpoint's manifest.</summary>
    public CheckpointManifest Manifest { get; }

    /// <summary>A new tensor with the stored values.</summary>
    public Tensor Tensor(string name)
    {
        var (_, dtype, shape, data) = Get(name, "tensor");
        var tensor = empty(shape, Enum.Parse<ScalarType>(dtype));   // dtype and length were checked when the file was read
        tensor.bytes = data;
        return tensor;
    }

    /// <summary>Copies the stored values into <paramref name="target"/>, which must have the stored shape and dtype.</summary>
    public void CopyInto(string name, Tensor target)
    {
        var (_, dtype, shape, _) = Get(name, "tensor");
        if (!shape.SequenceEqual(target.Dims()) || dtype != target.dtype.ToString())
            throw new CheckpointException($"checkpoint entry '{name}' is [{string.Join(", ", shape)}] {dtype}, but this run has [{string.Join(", ", target.Dims())}] {target.dtype}: the checkpoint is from another architecture or configuration");
        using var stored = Tensor(name);
        using var noGrad = no_grad();
        target.copy_(stored);
    }

    /// <summary>A stored whole number.</summary>
    public long Int64(string name) => BitConverter.ToInt64(Get(name, "int64").Data);

    /// <summary>A stored real number.</summary>
    public double Double(string name) => BitConverter.ToDouble(Get(name, "double").Data);

    /// <summary>A stored array of reals.</summary>
    public double[] Doubles(string name)
    {
        var data = Get(name, "doubles").Data;
        var values = new double[data.Length / sizeof(double)];
        Buffer.BlockCopy(data, 0, values, 0, data.Length);
        return values;
    }

    /// <summary>Stored text.</summary>
    public string Text(string name) => Encoding.UTF8.GetString(Get(name, "text").Data);

    /// <summary>Whether an entry exists.</summary>
    public bool Has(string name) => _entries.ContainsKey(name);

    private (string Kind, string DType, long[] Shape, byte[] Data) Get(string name, string kind)
    {
        if (!_entries.TryGetValue(name, out var entry))
            throw new CheckpointException($"checkpoint has no entry '{name}': it was written by another algorithm or configuration");
        if (entry.Kind != kind) throw new CheckpointException($"checkpoint entry '{name}' is a {entry.Kind}, expected a {kind}");
        return entry;
    }
}

/// <summary>
/// The checkpoint file format: magic <c>METACKP1</c>, manifest and entry table as JSON, the entries' bytes, then a
/// SHA-256 of everything before it. Written atomically (temporary file, flush to disk, rename), so a crash at any moment
/// leaves either the previous file or the new one; read back with every length and the checksum verified first.
/// </summary>
public static class CheckpointFile
{
    private static readonly byte[] Magic = "METACKP1"u8.ToArray();

    /// <summary>Writes <paramref name="writer"/>'s entries with <paramref name="manifest"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, CheckpointManifest manifest, CheckpointWriter writer)
    {
        var table = writer.Entries.Select(e => new EntryInfo(e.Name, e.Kind, e.DType, e.Shape, e.Data.LongLength)).ToList();
        var head = JsonSerializer.SerializeToUtf8Bytes(new Head(manifest, table));
        var temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                void Put(ReadOnlySpan<byte> bytes)
                {
                    stream.Write(bytes);
                    hash.AppendData(bytes);
                }
                Put(Magic);
                Put(BitConverter.GetBytes(head.Length));
                Put(head);
                foreach (var entry in writer.Entries) Put(entry.Data);
                stream.Write(hash.GetHashAndReset());
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            // A full disk (or any failed write) leaves the previous checkpoints as they were and no .tmp behind.
            try { File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
        Posix.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Reads and verifies a checkpoint; throws <see cref="CheckpointException"/> naming the file and the fault.</summary>
    public static CheckpointReader Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"checkpoint '{path}' cannot be read: {e.Message}");
        }
        const int hashLength = 32;
        if (bytes.Length < Magic.Length + 4 + hashLength || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new CheckpointException($"'{path}' is not a Meta checkpoint (or is truncated)");
        var body = bytes.AsSpan(0, bytes.Length - hashLength);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - hashLength)))
            throw new CheckpointException($"checkpoint '{path}' is corrupt (checksum mismatch): truncated or modified after it was written");
        var headLength = BitConverter.ToInt32(bytes, Magic.Length);
        if (headLength <= 0 || Magic.Length + 4L + headLength > body.Length)
            throw new CheckpointException($"checkpoint '{path}' is corrupt (bad header length)");
        Head head;
        try
        {
            head = JsonSerializer.Deserialize<Head>(bytes.AsSpan(Magic.Length + 4, headLength))
                   ?? throw new CheckpointException($"checkpoint '{path}' has an empty header");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"checkpoint '{path}' has an unreadable header: {e.Message}");
        }
        if (head.Manifest is null || head.Entries is null || head.Manifest.Experiment is null || head.Manifest.ConfigurationHash is null)
            throw new CheckpointException($"checkpoint '{path}' has an incomplete header (no manifest or entry table)");
        if (head.Manifest.Iteration < 0 || head.Manifest.Iteration > int.MaxValue)
            throw new CheckpointException($"checkpoint '{path}' claims iteration {head.Manifest.Iteration}; expected 0 to {int.MaxValue}");
        var entries = new Dictionary<string, (string, string, long[], byte[])>();
        long offset = Magic.Length + 4 + headLength;
        foreach (var entry in head.Entries)
        {
            if (entry is null || entry.Name is null || entry.Kind is null || entry.Shape is null)
                throw new CheckpointException($"checkpoint '{path}' has an incomplete entry in its table");
            if (entry.Length < 0 || offset + entry.Length > body.Length)
                throw new CheckpointException($"checkpoint '{path}' is corrupt (entry '{entry.Name}' runs past the end)");
            CheckEntry(path, entry);
            if (!entries.TryAdd(entry.Name, (entry.Kind, entry.DType ?? "", entry.Shape, bytes.AsSpan((int)offset, (int)entry.Length).ToArray())))
                throw new CheckpointException($"checkpoint '{path}' has the entry '{entry.Name}' twice");
            offset += entry.Length;
        }
        if (offset != body.Length)
            throw new CheckpointException($"checkpoint '{path}' is corrupt (its entries do not cover the file)");
        return new CheckpointReader(head.Manifest, entries);
    }

    /// <summary>Checks one entry's kind, dtype, shape and length against each other before anything is allocated.</summary>
    private static void CheckEntry(string path, EntryInfo entry)
    {
        var problem = entry.Kind switch
        {
            "int64" or "double" => entry.Length == 8 ? null : "holds " + entry.Length + " bytes, expected 8",
            "doubles" => entry.Shape.Length == 1 && entry.Shape[0] >= 0 && entry.Length == entry.Shape[0] * 8L ? null : "has a length that does not match its shape",
            "text" => null,
            "tensor" => TensorProblem(entry),
            _ => $"has the unknown kind '{entry.Kind}'",
        };
        if (problem is not null) throw new CheckpointException($"checkpoint '{path}' is corrupt (entry '{entry.Name}' {problem})");
    }

    private static string? TensorProblem(EntryInfo entry)
    {
        if (!Enum.TryParse<ScalarType>(entry.DType, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype) || int.TryParse(entry.DType, out _))
            return $"has the unknown dtype '{entry.DType}'";
        var size = dtype switch
        {
            ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1L,
            ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2L,
            ScalarType.Int32 or ScalarType.Float32 => 4L,
            ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8L,
            ScalarType.ComplexFloat64 => 16L,
            _ => 0L,
        };
        if (size == 0) return $"has the unsupported dtype '{entry.DType}'";
        long elements = 1;
        foreach (var d in entry.Shape)
        {
            if (d < 0 || (d > 0 && elements > long.MaxValue / d / size)) return "has an impossible shape";
            elements *= d;
        }
        return elements * size == entry.Length ? null : $"holds {entry.Length} bytes, but its shape [{string.Join(", ", entry.Shape)}] of {dtype} needs {elements * size}";
    }

    /// <summary>
    /// A stable hash of the options that determine the shape and meaning of the state (everything except the keys in
    /// <paramref name="ignored"/>, such as the iteration budget or the output folder).
    /// </summary>
    public static string ConfigurationHash(IEnumerable<KeyValuePair<string, string>> options, IReadOnlySet<string> ignored)
    {
        var text = string.Join("\n", options.Where(kv => !ignored.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
    }

    private sealed record EntryInfo(string Name, string Kind, string DType, long[] Shape, long Length);

    private sealed record Head(CheckpointManifest Manifest, List<EntryInfo> Entries);
}
