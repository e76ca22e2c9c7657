using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tasks.Images;

/// <summary>
/// Classes of images held in memory, decoded once: one uint8 tensor [images, C, H, W] with the images of each class
/// stored contiguously (8 bits a pixel: Mini-ImageNet's 38,400 training images take 0.8 GB, not 3.3 GB as floats).
/// Images come out as floats in [0, 1]. A class may be a rotated view of stored images (Omniglot's 90°, 180°, 270°
/// augmentation classes), rotated when drawn. Selections of classes share the storage.
/// </summary>
public sealed class ImageClassDataset : IDisposable
{
    private readonly Tensor _pixels;
    private readonly long[] _offsets;
    private readonly int[] _counts;
    private readonly int[] _turns;
    private readonly string[] _names;
    private readonly Tensor _offsetTensor;
    private readonly Tensor _countTensor;
    private readonly int _maxCount;

    private ImageClassDataset(Tensor pixels, long[] offsets, int[] counts, int[] turns, string[] names)
    {
        _pixels = pixels;
        _offsets = offsets;
        _counts = counts;
        _turns = turns;
        _names = names;
        _offsetTensor = tensor(offsets, ScalarType.Int64).DetachFromDisposeScope();
        _countTensor = tensor(counts.Select(c => (long)c).ToArray(), ScalarType.Int64).DetachFromDisposeScope();
        _maxCount = counts.Length == 0 ? 0 : counts.Max();
    }

    /// <summary>
    /// Builds a dataset from 8-bit pixels [images, C, H, W] (row-major, channels first) stored class after class:
    /// class i holds <c>classes[i].Count</c> consecutive images.
    /// </summary>
    public static ImageClassDataset FromPixels(byte[] pixels, IReadOnlyList<(string Name, int Count)> classes, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(classes);
        if (channels < 1 || height < 1 || width < 1) throw new ArgumentException("image dimensions must be at least 1");
        if (classes.Count == 0) throw new ArgumentException("a dataset needs at least one class", nameof(classes));
        if (classes.Any(c => c.Count < 1)) throw new ArgumentException("every class needs at least one image", nameof(classes));
        var total = classes.Sum(c => (long)c.Count);
        var imageSize = (long)channels * height * width;
        if (pixels.LongLength != total * imageSize)
            throw new ArgumentException($"{classes.Count} classes of {total} images of {channels}×{height}×{width} need {total * imageSize} bytes, got {pixels.LongLength}");
        var offsets = new long[classes.Count];
        for (var i = 1; i < offsets.Length; i++) offsets[i] = offsets[i - 1] + classes[i - 1].Count;
        var storage = tensor(pixels, [total, channels, height, width], ScalarType.Byte).DetachFromDisposeScope();
        return new ImageClassDataset(storage, offsets, [.. classes.Select(c => c.Count)], new int[classes.Count], [.. classes.Select(c => c.Name)]);
    }

    /// <summary>Number of classes.</summary>
    public int Classes => _names.Length;

    /// <summary>Image channels C.</summary>
    public int Channels => (int)_pixels.Dims()[1];

    /// <summary>Image height H.</summary>
    public int Height => (int)_pixels.Dims()[2];

    /// <summary>Image width W.</summary>
    public int Width => (int)_pixels.Dims()[3];

    /// <summary>The class names (for files on disk, the folder relative to the data root; rotated classes end in @90, @180, @270).</summary>
    public IReadOnlyList<string> ClassNames => _names;

    /// <summary>Total images over all classes (a rotated class counts its images again).</summary>
    public long ImageCount => _counts.Sum(c => (long)c);

    /// <summary>Images in class <paramref name="index"/>.</summary>
    public int ImagesIn(int index) => _counts[index];

    /// <summary>Quarter turns (counter-clockwise) applied to class <paramref name="index"/>'s stored images.</summary>
    public int QuarterTurns(int index) => _turns[index];

    /// <summary>The images of class <paramref name="index"/> as floats in [0, 1]: a new tensor [n, C, H, W].</summary>
    public Tensor Images(int index, ScalarType dtype = ScalarType.Float32)
    {
        if ((uint)index >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(index), index, $"the dataset has {Classes} classes");
        using var scope = NewDisposeScope();
        var x = _pixels.narrow(0, _offsets[index], _counts[index]);
        if (_turns[index] != 0) x = x.rot90(_turns[index], (2, 3));
        return x.to_type(dtype).div_(255.0).MoveToOuterDisposeScope();
    }

    /// <summary>A dataset of the given classes, in that order, sharing this one's storage.</summary>
    public ImageClassDataset Select(IEnumerable<int> classes)
    {
        var chosen = classes.ToArray();
        if (chosen.Length == 0) throw new ArgumentException("select at least one class", nameof(classes));
        foreach (var c in chosen)
            if ((uint)c >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(classes), c, $"the dataset has {Classes} classes");
        return new ImageClassDataset(_pixels.alias().DetachFromDisposeScope(),
            [.. chosen.Select(c => _offsets[c])], [.. chosen.Select(c => _counts[c])], [.. chosen.Select(c => _turns[c])], [.. chosen.Select(c => _names[c])]);
    }

    /// <summary>
    /// Every class once per entry of <paramref name="quarterTurns"/> (e.g. 0, 1, 2, 3: the class and its 90°, 180° and
    /// 270° rotations as separate classes), rotations of each class adjacent. Images must be square.
    /// </summary>
    public ImageClassDataset WithRotations(params int[] quarterTurns)
    {
        if (quarterTurns.Length == 0) throw new ArgumentException("give at least one rotation", nameof(quarterTurns));
        if (Height != Width) throw new InvalidOperationException($"rotation classes need square images, these are {Height} × {Width}");
        var offsets = new List<long>();
        var counts = new List<int>();
        var turns = new List<int>();
        var names = new List<string>();
        for (var c = 0; c < Classes; c++)
        {
            foreach (var q in quarterTurns)
            {
                var turn = ((_turns[c] + q) % 4 + 4) % 4;
                offsets.Add(_offsets[c]);
                counts.Add(_counts[c]);
                turns.Add(turn);
                names.Add(q % 4 == 0 ? _names[c] : $"{_names[c]}@{((q % 4 + 4) % 4) * 90}");
            }
        }
        return new ImageClassDataset(_pixels.alias().DetachFromDisposeScope(), [.. offsets], [.. counts], [.. turns], [.. names]);
    }

    /// <summary>
    /// <paramref name="perClass"/> distinct images of each class in <paramref name="classes"/> (int64, any shape S), drawn
    /// uniformly without replacement with <paramref name="generator"/>: floats in [0, 1], shape [S…, perClass, C, H, W].
    /// </summary>
    public Tensor Sample(Tensor classes, int perClass, Generator generator, ScalarType dtype = ScalarType.Float32)
    {
        if (classes.dtype != ScalarType.Int64) throw new ArgumentException($"class indices must be int64, got {classes.dtype}");
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "draw at least one image per class");
        using var scope = NewDisposeScope();
        var flat = classes.flatten();
        var chosen = flat.data<long>().ToArray();
        foreach (var c in chosen)
        {
            if ((ulong)c >= (ulong)Classes) throw new ArgumentOutOfRangeException(nameof(classes), c, $"the dataset has {Classes} classes");
            if (_counts[c] < perClass) throw new ArgumentException($"class '{_names[c]}' has {_counts[c]} images, fewer than the {perClass} requested");
        }
        var m = chosen.Length;
        // Random keys per (class slot, image); images beyond a class's count get key −1 and are never among the top perClass.
        var keys = rand([m, _maxCount], ScalarType.Float64, generator: generator);
        var beyond = arange(_maxCount, ScalarType.Int64).unsqueeze(0) >= _countTensor.index_select(0, flat).unsqueeze(1);
        var local = keys.masked_fill_(beyond, -1.0).topk(perClass, dim: 1).indexes;
        var global = _offsetTensor.index_select(0, flat).unsqueeze(1) + local;
        var pixels = _pixels.index_select(0, global.flatten()).view(m, perClass, Channels, Height, Width);
        for (var turn = 1; turn < 4; turn++)
        {
            var slots = Enumerable.Range(0, m).Where(i => _turns[chosen[i]] == turn).Select(i => (long)i).ToArray();
            if (slots.Length == 0) continue;
            var index = tensor(slots, ScalarType.Int64);
            pixels.index_copy_(0, index, pixels.index_select(0, index).rot90(turn, (3, 4)));
        }
        long[] shape = [.. classes.Dims(), perClass, Channels, Height, Width];
        return pixels.to_type(dtype).div_(255.0).view(shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _pixels.Dispose();
        _offsetTensor.Dispose();
        _countTensor.Dispose();
    }
}
