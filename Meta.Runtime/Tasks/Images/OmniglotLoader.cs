namespace Meta.Tasks.Images;

/// <summary>How Omniglot's 1,623 characters are divided into meta-training and meta-test classes.</summary>
public enum OmniglotSplit
{
    /// <summary>
    /// Vinyals et al. (2016), as in MAML: all characters (background, then evaluation, sorted by path) shuffled with a
    /// fixed seed; the first 1,200 are meta-training characters, each also rotated by 90°, 180° and 270° as three extra
    /// classes (4,800 classes); the remaining 423 are meta-test classes, unrotated.
    /// </summary>
    Conventional,

    /// <summary>
    /// Seed 001's split: the 50 alphabets (background, then evaluation, each sorted by name); the first 36 are
    /// meta-training, the other 14 meta-test; every character is a class; no rotations.
    /// </summary>
    Alphabets,
}

/// <summary>Meta-training and meta-test classes of one dataset.</summary>
/// <param name="Train">Meta-training classes.</param>
/// <param name="Test">Meta-test classes.</param>
public sealed record ClassSplit(ImageClassDataset Train, ImageClassDataset Test) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

/// <summary>
/// Reads Omniglot from the layout of its Python release (Lake et al. 2015): <c>images_background/</c> and
/// <c>images_evaluation/</c>, each <c>&lt;alphabet&gt;/&lt;character&gt;/*.png</c>, 105 × 105 1-bit images. Images
/// are resized to <c>size</c> × <c>size</c> by area averaging and inverted so that strokes are 1 and paper is 0 (as in
/// MAML's data loader); all are decoded once, in parallel, and held in memory.
/// </summary>
public static class OmniglotLoader
{
    /// <summary>The expected folder layout, as printed in error messages.</summary>
    public const string ExpectedLayout =
        "<folder>/images_background/<alphabet>/<character>/*.png and <folder>/images_evaluation/<alphabet>/<character>/*.png (Omniglot's Python release, unzipped)";

    /// <summary>The two halves of the release, in the order characters are enumerated.</summary>
    public static readonly string[] Parts = ["images_background", "images_evaluation"];

    /// <summary>Loads <paramref name="folder"/> and splits it; throws <see cref="DatasetException"/> on missing or bad data.</summary>
    /// <param name="folder">The folder holding <c>images_background/</c> and <c>images_evaluation/</c>.</param>
    /// <param name="split">Which split.</param>
    /// <param name="option">The command-line option that sets <paramref name="folder"/>, named in errors.</param>
    /// <param name="size">Output side in pixels (28 in the literature).</param>
    /// <param name="trainCharacters">Conventional split: meta-training characters (1,200).</param>
    /// <param name="trainAlphabets">Alphabet split: meta-training alphabets (36).</param>
    /// <param name="shuffleSeed">Conventional split: seed of the character shuffle.</param>
    public static ClassSplit Load(string folder, OmniglotSplit split = OmniglotSplit.Conventional, string option = "--data", int size = 28,
        int trainCharacters = 1200, int trainAlphabets = 36, ulong shuffleSeed = 1)
    {
        var characters = ListCharacters(folder, option);
        using var all = Decode(characters, size);
        switch (split)
        {
            case OmniglotSplit.Conventional:
            {
                if (characters.Count <= trainCharacters)
                    throw DatasetException.BadLayout("Omniglot", folder, $"has {characters.Count} characters; the conventional split needs more than {trainCharacters}", ExpectedLayout, option);
                var order = Enumerable.Range(0, characters.Count).ToArray();
                new StableRandom(shuffleSeed).Shuffle(order);
                using var train = all.Select(order.Take(trainCharacters));
                return new ClassSplit(train.WithRotations(0, 1, 2, 3), all.Select(order.Skip(trainCharacters)));
            }
            case OmniglotSplit.Alphabets:
            {
                var alphabets = characters.Select(c => c.Alphabet).Distinct().ToList();
                if (alphabets.Count <= trainAlphabets)
                    throw DatasetException.BadLayout("Omniglot", folder, $"has {alphabets.Count} alphabets; the alphabet split needs more than {trainAlphabets}", ExpectedLayout, option);
                var trainSet = alphabets.Take(trainAlphabets).ToHashSet();
                var indices = Enumerable.Range(0, characters.Count);
                return new ClassSplit(
                    all.Select(indices.Where(i => trainSet.Contains(characters[i].Alphabet))),
                    all.Select(indices.Where(i => !trainSet.Contains(characters[i].Alphabet))));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(split), split, "unknown Omniglot split");
        }
    }

    /// <summary>One character: its alphabet (part-qualified), its class name and its image files.</summary>
    internal sealed record Character(string Alphabet, string Name, string[] Files);

    internal static List<Character> ListCharacters(string folder, string option)
    {
        if (!Directory.Exists(folder)) throw DatasetException.Missing("Omniglot", folder, ExpectedLayout, option);
        var characters = new List<Character>();
        foreach (var part in Parts)
        {
            var partFolder = Path.Combine(folder, part);
            if (!Directory.Exists(partFolder))
                throw DatasetException.BadLayout("Omniglot", folder, $"has no {part}/ folder", ExpectedLayout, option);
            var alphabets = Sorted(Directory.GetDirectories(partFolder));
            if (alphabets.Length == 0)
                throw DatasetException.BadLayout("Omniglot", partFolder, "has no alphabet folders", ExpectedLayout, option);
            foreach (var alphabet in alphabets)
            {
                var characterFolders = Sorted(Directory.GetDirectories(alphabet));
                if (characterFolders.Length == 0)
                    throw DatasetException.BadLayout("Omniglot", alphabet, "has no character folders", ExpectedLayout, option);
                foreach (var character in characterFolders)
                {
                    var files = Sorted(Directory.GetFiles(character, "*.png"));
                    if (files.Length == 0)
                        throw DatasetException.BadLayout("Omniglot", character, "has no .png images", ExpectedLayout, option);
                    characters.Add(new Character($"{part}/{Path.GetFileName(alphabet)}",
                        $"{part}/{Path.GetFileName(alphabet)}/{Path.GetFileName(character)}", files));
                }
            }
        }
        return characters;
    }

    private static ImageClassDataset Decode(List<Character> characters, int size)
    {
        var pixels = ImageDecoder.DecodeAll([.. characters.SelectMany(c => c.Files)], 1, size, invert: true);
        return ImageClassDataset.FromPixels(pixels, [.. characters.Select(c => (c.Name, c.Files.Length))], 1, size, size);
    }

    private static string[] Sorted(string[] paths)
    {
        Array.Sort(paths, StringComparer.Ordinal);
        return paths;
    }
}
