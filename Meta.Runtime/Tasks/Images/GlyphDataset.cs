using System.Globalization;
using SkiaSharp;
using static TorchSharp.torch;

namespace Meta.Tasks.Images;

/// <summary>How the glyph family is rendered. Everything is fixed by these values and the installed fonts.</summary>
/// <param name="FontFolder">Folder of TrueType fonts (every font that draws a character is one of its styles).</param>
/// <param name="Drawings">Drawings per class (Omniglot has 20).</param>
/// <param name="Size">Image side in pixels.</param>
/// <param name="MaxClasses">At most this many classes (a seeded choice among the candidates if there are more).</param>
/// <param name="Seed">Seed of the drawings, the class choice and the split.</param>
/// <param name="TestFraction">Fraction of classes held out for meta-testing.</param>
public sealed record GlyphOptions(
    string FontFolder = GlyphOptions.DefaultFontFolder,
    int Drawings = 20,
    int Size = 28,
    int MaxClasses = 1000,
    ulong Seed = 1,
    double TestFraction = 0.25)
{
    /// <summary>Debian's DejaVu fonts (package fonts-dejavu-core, present wherever SkiaSharp draws text).</summary>
    public const string DefaultFontFolder = "/usr/share/fonts/truetype/dejavu";
}

/// <summary>
/// An offline Omniglot stand-in rendered from installed fonts: each letter of each script the fonts draw (Latin,
/// Greek, Cyrillic, Armenian, Hebrew, Arabic, N'Ko, Georgian, Canadian syllabics, Ogham, Tifinagh, Braille, …) is a
/// class, and each class has <see cref="GlyphOptions.Drawings"/> drawings, white on black, each with a random font
/// among those that have the character (sans, serif, mono; regular, bold, light, condensed, oblique), a random affine
/// distortion (rotation ±10°, scale 0.85–1.15 with aspect 0.9–1.1, shear ±0.2, shift ±1.5 px) and a random extra
/// stroke (0–1.5 px). Characters whose plain drawing (DejaVu Sans) nearly equals an earlier one's are dropped, so
/// look-alikes across scripts (Latin A, Greek Α, Cyrillic А) are one class. Deterministic by seed.
/// </summary>
public static class GlyphDataset
{
    /// <summary>The expected layout, as printed in error messages.</summary>
    public const string ExpectedLayout = "a folder of TrueType fonts (*.ttf), e.g. " + GlyphOptions.DefaultFontFolder + " from Debian's fonts-dejavu-core";

    /// <summary>Unicode blocks searched for letters, with a script name for class names.</summary>
    private static readonly (string Script, int First, int Last)[] Blocks =
    [
        ("Latin", 0x0041, 0x005A), ("Latin", 0x0061, 0x007A),
        ("Greek", 0x0370, 0x03FF), ("Cyrillic", 0x0400, 0x052F), ("Armenian", 0x0530, 0x058F),
        ("Hebrew", 0x0590, 0x05FF), ("Arabic", 0x0620, 0x064A), ("NKo", 0x07C0, 0x07FF),
        ("Lao", 0x0E80, 0x0EFF), ("Georgian", 0x10A0, 0x10FF), ("Syllabics", 0x1400, 0x167F),
        ("Ogham", 0x1680, 0x169F), ("Runic", 0x16A0, 0x16FF), ("Glagolitic", 0x2C00, 0x2C5F),
        ("Coptic", 0x2C80, 0x2CFF), ("Tifinagh", 0x2D30, 0x2D7F), ("Braille", 0x2801, 0x28FF),
    ];

    /// <summary>Drawings closer than this (root-mean-square pixel difference, pixels in [0, 1]) count as one character.</summary>
    private const double DuplicateDistance = 0.05;

    /// <summary>Renders every class; throws <see cref="DatasetException"/> if the font folder is missing or draws nothing.</summary>
    public static ImageClassDataset Render(GlyphOptions options, string option = "--fonts")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Drawings < 1 || options.Size < 8 || options.MaxClasses < 2)
            throw new ArgumentException("glyphs need at least 1 drawing per class, 8-pixel images and 2 classes", nameof(options));
        var fonts = LoadFonts(options.FontFolder, option);
        try
        {
            var characters = Characters(fonts, options.Size, options.Seed, options.MaxClasses);
            if (characters.Count < 2)
                throw DatasetException.BadLayout("Glyph", options.FontFolder, $"has fonts that draw {characters.Count} usable letters", ExpectedLayout, option);
            var imageBytes = options.Size * options.Size;
            var pixels = new byte[(long)characters.Count * options.Drawings * imageBytes];
            Parallel.For(0, characters.Count, c =>
            {
                var character = characters[c];
                var random = new StableRandom(Mix(options.Seed, (ulong)character.Codepoint));
                for (var d = 0; d < options.Drawings; d++)
                {
                    var font = character.Fonts[random.Next(character.Fonts.Length)];
                    var drawing = Distortion.Draw(ref random);
                    var offset = ((long)c * options.Drawings + d) * imageBytes;
                    Draw(fonts[font], character.Codepoint, options.Size, drawing, pixels.AsSpan((int)offset, imageBytes));
                }
            });
            return ImageClassDataset.FromPixels(pixels, [.. characters.Select(c => (c.Name, options.Drawings))], 1, options.Size, options.Size);
        }
        finally
        {
            foreach (var font in fonts) font.Dispose();
        }
    }

    /// <summary>Renders the classes and splits them at random (by seed) into meta-training and meta-test classes.</summary>
    public static ClassSplit RenderSplit(GlyphOptions options, string option = "--fonts")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.TestFraction > 0 && options.TestFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.TestFraction, "the test fraction must be in (0, 1)");
        using var all = Render(options, option);
        var order = Enumerable.Range(0, all.Classes).ToArray();
        new StableRandom(Mix(options.Seed, 0x5B11)).Shuffle(order);
        var test = Math.Clamp((int)Math.Round(all.Classes * options.TestFraction), 1, all.Classes - 1);
        return new ClassSplit(all.Select(order.Skip(test).Order()), all.Select(order.Take(test).Order()));
    }

    /// <summary>A class: a code point, its name and the indices of the fonts that draw it.</summary>
    internal sealed record Character(int Codepoint, string Name, int[] Fonts);

    /// <summary>The random distortion of one drawing.</summary>
    internal readonly record struct Distortion(float Rotation, float Scale, float Aspect, float Shear, float ShiftX, float ShiftY, float Stroke)
    {
        /// <summary>The plain drawing.</summary>
        public static Distortion None => new(0, 1, 1, 0, 0, 0, 0);

        /// <summary>Draws one at random.</summary>
        public static Distortion Draw(ref StableRandom random) => new(
            Rotation: (float)random.Uniform(-10, 10),
            Scale: (float)random.Uniform(0.85, 1.15),
            Aspect: (float)random.Uniform(0.9, 1.1),
            Shear: (float)random.Uniform(-0.2, 0.2),
            ShiftX: (float)random.Uniform(-1.5, 1.5),
            ShiftY: (float)random.Uniform(-1.5, 1.5),
            Stroke: (float)random.Uniform(0, 1.5));
    }

    internal static List<SKTypeface> LoadFonts(string folder, string option)
    {
        if (!Directory.Exists(folder)) throw DatasetException.Missing("Glyph", folder, ExpectedLayout, option);
        var files = Directory.GetFiles(folder, "*.ttf").Where(f => !Path.GetFileName(f).Contains("Math", StringComparison.Ordinal)).ToArray();
        Array.Sort(files, StringComparer.Ordinal);
        // The reference font (plain drawings, the look-alike test) first: DejaVu Sans if present.
        var reference = Array.FindIndex(files, f => Path.GetFileName(f) == "DejaVuSans.ttf");
        if (reference > 0) (files[0], files[reference]) = (files[reference], files[0]);
        var fonts = new List<SKTypeface>();
        foreach (var file in files)
        {
            var typeface = SKTypeface.FromFile(file);
            if (typeface is not null) fonts.Add(typeface);
        }
        if (fonts.Count == 0) throw DatasetException.BadLayout("Glyph", folder, "has no readable .ttf fonts", ExpectedLayout, option);
        return fonts;
    }

    /// <summary>The classes: letters the reference font draws visibly, minus look-alikes, at most <paramref name="maxClasses"/>.</summary>
    internal static List<Character> Characters(List<SKTypeface> fonts, int size, ulong seed, int maxClasses)
    {
        var candidates = new List<Character>();
        var probes = fonts.Select(f => new SKFont(f, FontSize(size))).ToArray();
        try
        {
            foreach (var (script, first, last) in Blocks)
            {
                for (var cp = first; cp <= last; cp++)
                {
                    var isLetter = script == "Braille" || CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.UppercaseLetter
                        or UnicodeCategory.LowercaseLetter or UnicodeCategory.OtherLetter or UnicodeCategory.TitlecaseLetter;
                    var glyph = probes[0].GetGlyph(cp);
                    if (!isLetter || glyph == 0) continue;
                    using var path = probes[0].GetGlyphPath(glyph);
                    if (path is null || path.IsEmpty || Math.Max(path.TightBounds.Width, path.TightBounds.Height) < size / 7f) continue;
                    int[] drawing = [.. Enumerable.Range(0, fonts.Count).Where(f => probes[f].GetGlyph(cp) != 0)];
                    candidates.Add(new Character(cp, string.Create(CultureInfo.InvariantCulture, $"{script} U+{cp:X4} {char.ConvertFromUtf32(cp)}"), drawing));
                }
            }
        }
        finally
        {
            foreach (var probe in probes) probe.Dispose();
        }

        // Plain drawings of all candidates; keep a character only if it differs from every one kept before it.
        var imageBytes = size * size;
        var plain = new byte[candidates.Count * imageBytes];
        Parallel.For(0, candidates.Count, i => Draw(fonts[0], candidates[i].Codepoint, size, Distortion.None, plain.AsSpan(i * imageBytes, imageBytes)));
        using var scope = NewDisposeScope();
        var x = tensor(plain, [candidates.Count, imageBytes], ScalarType.Byte).to_type(ScalarType.Float32).div_(255f);
        var distances = cdist(x, x).div_((float)Math.Sqrt(imageBytes)).data<float>().ToArray();
        var kept = new List<int>();
        for (var i = 0; i < candidates.Count; i++)
            if (kept.All(k => distances[i * candidates.Count + k] >= DuplicateDistance)) kept.Add(i);

        if (kept.Count > maxClasses)
        {
            var order = kept.ToArray();
            new StableRandom(Mix(seed, 0xC1A55)).Shuffle(order);
            kept = [.. order.Take(maxClasses).Order()];
        }
        return [.. kept.Select(i => candidates[i])];
    }

    private static float FontSize(int size) => size * 0.85f;

    /// <summary>Draws <paramref name="codepoint"/> white on black into <paramref name="destination"/> (size² bytes).</summary>
    internal static void Draw(SKTypeface typeface, int codepoint, int size, Distortion distortion, Span<byte> destination)
    {
        using var font = new SKFont(typeface, FontSize(size)) { Edging = SKFontEdging.Antialias, Hinting = SKFontHinting.None };
        using var path = font.GetGlyphPath(font.GetGlyph(codepoint)) ?? new SKPath();
        var bounds = path.TightBounds;
        // Large glyphs shrink to fit 80 % of the image; smaller ones keep their size relative to the others.
        var fit = Math.Min(1f, 0.8f * size / Math.Max(1e-3f, Math.Max(bounds.Width, bounds.Height)));
        var matrix = SKMatrix.CreateTranslation(-bounds.MidX, -bounds.MidY);
        matrix = matrix.PostConcat(SKMatrix.CreateScale(fit * distortion.Scale * distortion.Aspect, fit * distortion.Scale / distortion.Aspect));
        matrix = matrix.PostConcat(SKMatrix.CreateSkew(distortion.Shear, 0));
        matrix = matrix.PostConcat(SKMatrix.CreateRotationDegrees(distortion.Rotation));
        matrix = matrix.PostConcat(SKMatrix.CreateTranslation(size / 2f + distortion.ShiftX, size / 2f + distortion.ShiftY));
        path.Transform(matrix);

        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.White, IsAntialias = true, StrokeWidth = distortion.Stroke, StrokeJoin = SKStrokeJoin.Round })
        {
            canvas.Clear(SKColors.Black);
            paint.Style = distortion.Stroke > 0.05f ? SKPaintStyle.StrokeAndFill : SKPaintStyle.Fill;
            canvas.DrawPath(path, paint);
        }
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < size * size; i++) destination[i] = pixels[i * 4];
    }

    private static ulong Mix(ulong seed, ulong stream) => Training.RunSeeds.Derive(unchecked((long)seed), stream);
}
