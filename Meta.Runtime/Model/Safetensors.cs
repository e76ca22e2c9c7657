using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Meta;

/// <summary>
/// The safetensors format (Hugging Face), as PyTorch's <c>safetensors.torch.load_file</c> reads it: an 8-byte
/// little-endian header length, a JSON header (each tensor's dtype, shape and byte range; string metadata under
/// <c>__metadata__</c>), then the tensors' raw little-endian bytes. Written by hand because TorchSharp.PyBridge's writer
/// is internal and takes no metadata.
/// </summary>
public static class Safetensors
{
    /// <summary>Writes <paramref name="tensors"/> (float32, float64 or int64) and <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        var header = new JsonObject { ["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))) };
        var blobs = new List<byte[]>(tensors.Count);
        long offset = 0;
        foreach (var (name, value) in tensors)
        {
            if (name == "__metadata__" || header.ContainsKey(name)) throw new ArgumentException($"tensor name '{name}' is reserved or repeated", nameof(tensors));
            using var contiguous = value.detach().cpu().contiguous();
            var bytes = contiguous.bytes.ToArray();
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors export needs a little-endian machine");
            blobs.Add(bytes);
            header[name] = new JsonObject
            {
                ["dtype"] = DType(contiguous.dtype),
                ["shape"] = new JsonArray([.. contiguous.Dims().Select(d => (JsonNode?)JsonValue.Create(d))]),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes.LongLength)),
            };
            offset += bytes.LongLength;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        var padded = (json.Length + 7) / 8 * 8;                   // the data starts 8-byte aligned; the header is padded with spaces
        var head = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)padded);
        json.CopyTo(head, 8);
        head.AsSpan(8 + json.Length).Fill((byte)' ');
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(head);
            foreach (var blob in blobs) stream.Write(blob);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a safetensors file: the tensors by name (in file order) and the metadata. Throws <see cref="MetaModelException"/> if malformed.</summary>
    public static (IReadOnlyList<(string Name, Tensor Value)> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new MetaModelException($"'{path}' is not a safetensors file (shorter than its header length)");
        var length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (length > (ulong)(bytes.Length - 8)) throw new MetaModelException($"'{path}' is not a safetensors file (header length {length} past the end)");
        JsonObject header;
        try { header = JsonNode.Parse(bytes.AsSpan(8, (int)length))?.AsObject() ?? throw new MetaModelException($"'{path}' has an empty header"); }
        catch (JsonException e) { throw new MetaModelException($"'{path}' has an unreadable header: {e.Message}"); }
        var start = 8 + (long)length;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (key, value) in node!.AsObject()) metadata[key] = value!.GetValue<string>();
                continue;
            }
            var dtype = ScalarTypeOf(node!["dtype"]!.GetValue<string>(), path);
            var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var range = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (range.Length != 2 || range[0] < 0 || range[1] < range[0] || start + range[1] > bytes.Length)
                throw new MetaModelException($"'{path}': tensor '{name}' runs past the end of the file");
            var tensor = empty(shape, dtype);
            tensor.bytes = bytes.AsSpan((int)(start + range[0]), (int)(range[1] - range[0]));
            tensors.Add((name, tensor));
        }
        return (tensors, metadata);
    }

    private static string DType(ScalarType type) => type switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        _ => throw new ArgumentException($"safetensors export supports float32, float64 and int64 tensors, not {type}"),
    };

    private static ScalarType ScalarTypeOf(string dtype, string path) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        _ => throw new MetaModelException($"'{path}': dtype {dtype} is not read here (F32, F64, I64)"),
    };
}
