using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Meta.Tasks.Images;
using SkiaSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "meta-images-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Writers for tiny datasets in the exact on-disk formats the loaders read.</summary>
internal static class ImageTestData
{
    /// <summary>
    /// Writes a 1-bit greyscale PNG (Omniglot's format): <paramref name="white"/>(x, y) true is paper (1), false ink (0).
    /// </summary>
    public static void WriteOneBitPng(string path, int width, int height, Func<int, int, bool> white)
    {
        var rowBytes = (width + 7) / 8;
        var raw = new byte[height * (rowBytes + 1)];
        for (var y = 0; y < height; y++)
        {
            raw[y * (rowBytes + 1)] = 0; // filter: none
            for (var x = 0; x < width; x++)
                if (white(x, y)) raw[y * (rowBytes + 1) + 1 + x / 8] |= (byte)(0x80 >> (x % 8));
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);

        using var file = File.Create(path);
        file.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 1; // bit depth
        header[9] = 0; // greyscale
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>Writes a solid-colour RGB image of <paramref name="side"/> × <paramref name="side"/> as PNG or JPEG (by extension).</summary>
    public static void WriteColourImage(string path, int side, SKColor colour)
    {
        using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(colour);
        var format = path.EndsWith(".jpg", StringComparison.Ordinal) ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var file = File.Create(path);
        Assert.True(bitmap.Encode(file, format, 95));
    }

    /// <summary>Writes a gzip-compressed IDX file: magic 0x0000080·dims, big-endian dimensions, then the bytes.</summary>
    public static void WriteIdxGz(string path, int[] dimensions, byte[] data, int? magic = null)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        var header = new byte[4 + 4 * dimensions.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic ?? (0x0800 | dimensions.Length));
        for (var d = 0; d < dimensions.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dimensions[d]);
        gzip.Write(header);
        gzip.Write(data);
    }

    /// <summary>
    /// A dataset whose pixels identify each image: images are 1 × 2 × 2 with pixel 0 = class index, pixel 1 = image
    /// index within the class, pixel 2 = 7, pixel 3 = 0. Class c has <c>counts[c]</c> images.
    /// </summary>
    public static ImageClassDataset Labelled(params int[] counts)
    {
        var pixels = new List<byte>();
        for (var c = 0; c < counts.Length; c++)
            for (var i = 0; i < counts[c]; i++)
                pixels.AddRange([(byte)c, (byte)i, 7, 0]);
        return ImageClassDataset.FromPixels([.. pixels], [.. counts.Select((n, c) => ($"class{c}", n))], 1, 2, 2);
    }

    /// <summary>Same shape and exactly equal elements.</summary>
    public static bool Same(this Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>A dataset of random images, <paramref name="classes"/> × <paramref name="perClass"/>, C × side × side.</summary>
    public static ImageClassDataset Random(int classes, int perClass, int channels, int side, int seed = 3)
    {
        var pixels = new byte[classes * perClass * channels * side * side];
        new Random(seed).NextBytes(pixels);
        return ImageClassDataset.FromPixels(pixels, [.. Enumerable.Range(0, classes).Select(c => ($"class{c}", perClass))], channels, side, side);
    }
}
