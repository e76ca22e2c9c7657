namespace Meta.Tests;

/// <summary>
/// System parts some tests need that a fresh Debian machine with the .NET SDK does not have. A test that needs one calls
/// its <c>Require…</c> method first (and is a <c>[SkippableFact]</c> / <c>[SkippableTheory]</c>): when the part is
/// absent the test is reported as skipped with the reason and the apt package that enables it. .ci/run installs every
/// part and sets <see cref="RequireVariable"/>=1, which turns such a skip into a failure, so CI cannot silently skip.
/// </summary>
internal static class OptionalParts
{
    /// <summary>The environment variable that makes a missing optional part a failure instead of a skip.</summary>
    public const string RequireVariable = "META_REQUIRE_OPTIONAL";

    /// <summary>MPICH's launcher (Debian's <c>mpich</c>); <c>META_MPIRUN</c> points elsewhere (or at nothing, to try the skip).</summary>
    public static string MpiRun => Environment.GetEnvironmentVariable("META_MPIRUN") is { Length: > 0 } p ? p : "/usr/bin/mpirun.mpich";

    /// <summary>Debian's Prometheus server (<c>prometheus</c>); <c>META_PROMETHEUS</c> points elsewhere.</summary>
    public static string Prometheus => Environment.GetEnvironmentVariable("META_PROMETHEUS") is { Length: > 0 } p ? p : "/usr/bin/prometheus";

    /// <summary>Requires MPICH's <c>mpirun.mpich</c>.</summary>
    public static void RequireMpich() => Require(File.Exists(MpiRun), $"{MpiRun} is missing", "mpich");

    /// <summary>Requires the Prometheus server binary.</summary>
    public static void RequirePrometheus() => Require(File.Exists(Prometheus), $"{Prometheus} is missing", "prometheus");

    /// <summary>Requires the DejaVu fonts the glyph family renders by default.</summary>
    public static void RequireDejaVuFonts() => Require(
        File.Exists(Path.Combine(Meta.Tasks.Images.GlyphOptions.DefaultFontFolder, "DejaVuSans.ttf")),
        $"the DejaVu fonts are missing from {Meta.Tasks.Images.GlyphOptions.DefaultFontFolder}", "fonts-dejavu-core");

    /// <summary>Requires Debian's Fashion-MNIST files.</summary>
    public static void RequireFashionMnist() => Require(
        File.Exists(Path.Combine(Meta.Tasks.Images.FashionMnist.DefaultFolder, "t10k-labels-idx1-ubyte.gz")),
        $"Fashion-MNIST is missing from {Meta.Tasks.Images.FashionMnist.DefaultFolder}", "dataset-fashion-mnist");

    /// <summary>Skips (or, with <see cref="RequireVariable"/>=1, fails) unless <paramref name="present"/>.</summary>
    public static void Require(bool present, string what, string aptPackage)
    {
        if (present) return;
        var reason = $"{what}: apt-get install {aptPackage} to run this test (.ci/run installs it)";
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
            Assert.Fail($"{reason}; {RequireVariable}=1 makes a missing optional part a failure");
        throw new SkipException(reason);
    }
}
