using SkiaSharp;

namespace Meta.Tasks.Images;

/// <summary>
/// Decodes image files (PNG, JPEG, … — whatever SkiaSharp reads) to 8-bit pixels of a fixed square size, channels
/// first; colour images asked for as grey become their luma. Resizing is by area averaging (each output pixel is the mean of the source area it covers), computed here so
/// the result does not depend on a native library's sampling choices.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>The largest image accepted, in pixels (a header claiming more is refused before anything is allocated).</summary>
    public const long MaxPixels = 8192L * 8192;

    /// <summary>
    /// Decodes <paramref name="path"/> into <paramref name="destination"/> (C·size·size bytes): C = 1 grey, C = 3 RGB.
    /// With <paramref name="invert"/> a value v is stored as 255 − v. Throws <see cref="DatasetException"/> naming the file.
    /// </summary>
    public static void Decode(string path, int channels, int size, Span<byte> destination, bool invert = false)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (grey) or 3 (RGB)");
        byte[] encoded;
        try
        {
            encoded = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw DatasetException.Corrupt(path, e.Message);
        }
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null) throw DatasetException.Corrupt(path, "not a readable image (corrupt or unsupported format)");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width < 1 || height < 1) throw DatasetException.Corrupt(path, "the image is empty");
        if ((long)width * height > MaxPixels)
            throw DatasetException.Corrupt(path, $"the image claims {width}×{height} pixels; images up to {MaxPixels / 1_000_000} megapixels (e.g. 8192×8192) are accepted");
        // Skia converts grey sources to Gray8 but refuses colour sources (InvalidConversion): those are decoded as RGBA
        // and reduced to their luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B).
        var greySource = codec.Info.ColorType == SKColorType.Gray8;
        var luma = channels == 1 && !greySource;
        var info = channels == 1 && greySource
            ? new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque)
            : new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success) throw DatasetException.Corrupt(path, $"decoding failed ({result})");
        var pixels = bitmap.GetPixelSpan();
        var stride = bitmap.RowBytes;
        var bytesPerPixel = info.BytesPerPixel;
        var plane = new float[height * width];
        var resized = new float[size * size];
        var rows = AreaWeights(height, size);
        var cols = AreaWeights(width, size);
        for (var c = 0; c < channels; c++)
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var at = y * stride + x * bytesPerPixel;
                    plane[y * width + x] = luma ? 0.299f * pixels[at] + 0.587f * pixels[at + 1] + 0.114f * pixels[at + 2] : pixels[at + c];
                }
            Resample(plane, width, rows, cols, size, resized);
            var target = destination.Slice(c * size * size, size * size);
            for (var i = 0; i < resized.Length; i++)
            {
                var v = (int)MathF.Round(resized[i]);
                v = Math.Clamp(v, 0, 255);
                target[i] = (byte)(invert ? 255 - v : v);
            }
        }
    }

    /// <summary>
    /// Decodes every file, in parallel, into one buffer [files, C, size, size]. If any fail, throws the
    /// <see cref="DatasetException"/> of the first failing file in list order (the same file on every run).
    /// </summary>
    public static byte[] DecodeAll(IReadOnlyList<string> files, int channels, int size, bool invert = false)
    {
        var imageBytes = channels * size * size;
        var pixels = new byte[(long)files.Count * imageBytes];
        var failures = new System.Collections.Concurrent.ConcurrentDictionary<int, DatasetException>();
        Parallel.For(0, files.Count, i =>
        {
            try
            {
                Decode(files[i], channels, size, pixels.AsSpan(i * imageBytes, imageBytes), invert);
            }
            catch (DatasetException e)
            {
                failures[i] = e;
            }
        });
        if (!failures.IsEmpty) throw failures[failures.Keys.Min()];
        return pixels;
    }

    /// <summary>For each output index, the source indices it covers and their weights (summing to 1).</summary>
    private static (int Index, float Weight)[][] AreaWeights(int source, int target)
    {
        var scale = (double)source / target;
        var weights = new (int, float)[target][];
        for (var i = 0; i < target; i++)
        {
            var start = i * scale;
            var end = (i + 1) * scale;
            var list = new List<(int, float)>();
            for (var j = (int)Math.Floor(start); j < Math.Min(source, (int)Math.Ceiling(end)); j++)
            {
                var overlap = Math.Min(end, j + 1) - Math.Max(start, j);
                if (overlap > 1e-12) list.Add((j, (float)(overlap / scale)));
            }
            weights[i] = [.. list];
        }
        return weights;
    }

    private static void Resample(float[] plane, int width, (int Index, float Weight)[][] rows, (int Index, float Weight)[][] cols, int size, float[] output)
    {
        var rowsDone = new float[size * width];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                foreach (var (j, w) in rows[y]) sum += w * plane[j * width + x];
                rowsDone[y * width + x] = sum;
            }
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                float sum = 0;
                foreach (var (k, w) in cols[x]) sum += w * rowsDone[y * width + k];
                output[y * size + x] = sum;
            }
    }
}
