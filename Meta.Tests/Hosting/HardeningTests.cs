using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Meta.Checkpoints;

namespace Meta.Tests.Hosting;

/// <summary>
/// Hardening through the real program: bad environment variables, stops outside the training loop, a full disk, a
/// huge image header, compare's up-front checks, and --resume's paths and forged checkpoints. Each failure is one stderr
/// line, an exit code, no stack trace, and nothing half-written.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class HardeningTests : IDisposable
{
    private static readonly string[] Quick = ["--eval-tasks", "8", "--pretrain-iterations", "0", "--meta-batch", "5", "--log-every", "50"];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-harden-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("Telemetry__Console", "abc", "Telemetry:Console", "true or false")]
    [InlineData("Experiments__sine-mam__Iterations", "3", "unknown experiment 'sine-mam'", "sine-maml")]
    [InlineData("Experiments__sine-maml__MetaBatch__x", "3", "Experiments:sine-maml:MetaBatch", "one value")]
    [InlineData("Experiments__sine-maml", "5", "Experiments:sine-maml", "section of options")]
    [InlineData("Experiments__sine-maml__MetaOptimizer", "1", "--meta-optimizer", "adam, sgd")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://")]
    public void A_bad_environment_variable_is_one_line_and_exit_2(string name, string value, string names, string accepted)
    {
        var output = Path.Combine(_root, "out");
        var result = ExperimentProcess.Run(["sine-maml", "--output", output], new Dictionary<string, string> { [name] = value });
        AssertOneLine(result, 2, names, accepted);
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData("pre-training the joint baseline", "--pretrain-iterations", "100000000", "--eval-tasks", "8")]
    [InlineData("evaluating on", "--pretrain-iterations", "0", "--eval-tasks", "8000")]
    public async Task SIGTERM_outside_the_training_loop_stops_with_a_checkpoint_and_a_stopped_summary(string phase, params string[] options)
    {
        var output = Path.Combine(_root, "out");
        string[] run = ["sine-maml", "--iterations", "20", "--meta-batch", "5", .. options, "--output", output];
        using var process = ExperimentProcess.Start(run);
        var error = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null && !line.Contains(phase, StringComparison.Ordinal)) { }
        Assert.NotNull(line);
        await Task.Delay(300);
        Signal("-TERM", process.Id);
        var rest = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "the run stops within the shutdown timeout");

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("stopped after 20", rest, StringComparison.Ordinal);
        Assert.Equal("", await error);
        var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
        Assert.Contains("outcome: **stopped**", File.ReadAllText(Path.Combine(folder, "summary.md")), StringComparison.Ordinal);
        Assert.Contains("\"stopped\"", File.ReadAllText(Path.Combine(folder, "result.json")), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "checkpoints", "iteration-00000020.ckpt")));

        // Resuming goes straight to the evaluation (a small one now) and completes.
        var resumed = ExperimentProcess.Run(["sine-maml", "--iterations", "20", "--meta-batch", "5", "--pretrain-iterations", "5", "--eval-tasks", "8", "--output", output, "--resume", "latest"]);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("outcome: **completed**", File.ReadAllText(Path.Combine(folder, "summary.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_is_one_line_exit_1_no_tmp_files_and_the_run_resumes_after_space_is_freed()
    {
        var disk = Path.Combine(_root, "tiny");
        Directory.CreateDirectory(disk);
        if (!Mount(disk))
        {
            // A tmpfs needs root; without it the test cannot make a disk full. .ci/run runs as root.
            Assert.False(Environment.GetEnvironmentVariable("META_REQUIRE_OPTIONAL") == "1", "mount -t tmpfs is needed for the full-disk test (run as root)");
            return;
        }
        try
        {
            var filler = Path.Combine(disk, "filler");
            File.WriteAllBytes(filler, new byte[1_850_000]);                     // of 2 MiB: room for a few checkpoints only
            string[] run = ["sine-maml", .. Quick, "--iterations", "300", "--checkpoint-every", "10", "--keep-checkpoints", "100", "--output", disk];
            var full = ExperimentProcess.Run(run);

            AssertOneLine(full, 1, "the disk is full", "--resume latest");
            Assert.Empty(Directory.GetFiles(disk, "*.tmp", SearchOption.AllDirectories));
            var folder = Directory.GetDirectories(Path.Combine(disk, "sine-maml")).Single();
            var latest = new CheckpointStore(folder, 1).Latest();
            Assert.NotNull(latest);
            CheckpointFile.Read(latest!);                                       // whole, not half-written

            File.Delete(filler);
            var resumed = ExperimentProcess.Run([.. run, "--resume", "latest"]);
            Assert.Equal(0, resumed.ExitCode);
            Assert.Contains("completed after 300", resumed.Output, StringComparison.Ordinal);
        }
        finally
        {
            using var umount = Process.Start("umount", [disk]);
            umount.WaitForExit();
        }
    }

    [Fact]
    public void An_image_whose_header_claims_50000_by_50000_pixels_is_refused_before_decoding()
    {
        var data = Path.Combine(_root, "omniglot");
        foreach (var split in new[] { "images_background", "images_evaluation" })
            for (var a = 0; a < 2; a++)
                for (var c = 0; c < 10; c++)
                {
                    var folder = Path.Combine(data, split, $"alphabet{a}", $"character{c:D2}");
                    Directory.CreateDirectory(folder);
                    for (var i = 0; i < 20; i++)
                    {
                        var huge = split == "images_background" && a == 0 && c == 0 && i == 0;
                        File.WriteAllBytes(Path.Combine(folder, $"{i:D2}.png"), Png(huge ? 50_000 : 4, huge ? 50_000 : 4));
                    }
                }
        var output = Path.Combine(_root, "out");
        var result = ExperimentProcess.Run(["omniglot-5w1s", "--data", data, "--iterations", "2", "--output", output]);
        AssertOneLine(result, 2, "50000×50000", "8192×8192");
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Compare_checks_option_values_before_training_or_writing()
    {
        var output = Path.Combine(_root, "out");
        var result = ExperimentProcess.Run(["compare", "sine-maml", "--seeds", "1", "--iterations", "-1", "--output", output]);
        AssertOneLine(result, 2, "--iterations", "≥ 1");
        Assert.False(Directory.Exists(output), "compare wrote nothing");
    }

    [Fact]
    public async Task SIGTERM_to_compare_stops_its_run_cleanly_and_compare_exits_130()
    {
        var output = Path.Combine(_root, "out");
        using var process = ExperimentProcess.Start(["compare", "sine-maml", "--seeds", "2", "--iterations", "1000000", "--eval-tasks", "8", "--output", output]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var waited = Stopwatch.StartNew();
        string[] Csvs() => Directory.Exists(output) ? Directory.GetFiles(output, "metrics.csv", SearchOption.AllDirectories) : [];
        while (Csvs().Length == 0 && !process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(90)) await Task.Delay(100);
        await Task.Delay(500);
        Signal("-TERM", process.Id);
        Assert.True(process.WaitForExit(40_000), "compare stops within the child's shutdown timeout");

        Assert.Equal(130, process.ExitCode);
        Assert.DoesNotContain("   at ", await stdout + await stderr, StringComparison.Ordinal);
        var summary = Path.Combine(Path.GetDirectoryName(Assert.Single(Csvs()))!, "summary.md");
        Assert.Contains("outcome: **stopped**", File.ReadAllText(summary), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(output, "comparison.md", SearchOption.AllDirectories));
    }

    [Fact]
    public void Resume_names_the_changed_option_refuses_fewer_iterations_and_continues_a_copied_checkpoint_under_output()
    {
        var output = Path.Combine(_root, "out");
        Assert.Equal(0, ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "20", "--output", output]).ExitCode);
        var checkpoint = Directory.GetFiles(output, "*.ckpt", SearchOption.AllDirectories).Single();

        var changed = ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "40", "--inner-lr", "0.02", "--output", output, "--resume", "latest"]);
        AssertOneLine(changed, 2, "--inner-lr was 0.01, now 0.02", "--iterations");

        var fewer = ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "10", "--output", output, "--resume", "latest"]);
        AssertOneLine(fewer, 2, "--iterations 10 is below the checkpoint's iteration 20", "--iterations 20 or more");

        var nowhere = ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "30", "--output", output, "--resume", Path.Combine(_root, "no-such-run")]);
        AssertOneLine(nowhere, 2, "--resume", "'latest', a run folder or a checkpoint file");

        // A checkpoint copied out of its run folder: the run continues in a new folder under --output, not beside the copy.
        var elsewhere = Path.Combine(_root, "copies", "sub");
        Directory.CreateDirectory(elsewhere);
        var copy = Path.Combine(elsewhere, "copy.ckpt");
        File.Copy(checkpoint, copy);
        var second = Path.Combine(_root, "second");
        var continued = ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "30", "--output", second, "--resume", copy]);
        Assert.Equal(0, continued.ExitCode);
        Assert.Contains("resuming after iteration 20", continued.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Directory.GetDirectories(Path.Combine(second, "sine-maml")).Single(), "checkpoints", "iteration-00000030.ckpt")));
        Assert.Equal(["copy.ckpt"], Directory.GetFileSystemEntries(elsewhere).Select(Path.GetFileName));
        Assert.Equal(["sub"], Directory.GetFileSystemEntries(Path.Combine(_root, "copies")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("iteration-huge", "99999999999")]
    [InlineData("iteration-negative", "-5")]
    [InlineData("dtype", "unknown dtype 'Bogus'")]
    [InlineData("length", "holds")]
    [InlineData("kind", "unknown kind")]
    [InlineData("duplicate", "twice")]
    [InlineData("no-entries", "incomplete header")]
    public void A_forged_checkpoint_with_a_valid_checksum_is_refused(string forgery, string expected)
    {
        var output = Path.Combine(_root, "out");
        Assert.Equal(0, ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "20", "--output", output]).ExitCode);
        var file = Directory.GetFiles(output, "*.ckpt", SearchOption.AllDirectories).Single();
        Forge(file, head =>
        {
            var entries = head["Entries"]!.AsArray();
            switch (forgery)
            {
                case "iteration-huge": head["Manifest"]!["Iteration"] = 99999999999L; break;
                case "iteration-negative": head["Manifest"]!["Iteration"] = -5; break;
                case "dtype": entries.First(e => (string?)e!["Kind"] == "tensor")!["DType"] = "Bogus"; break;
                case "length":
                    var tensor = entries.First(e => (string?)e!["Kind"] == "tensor")!;
                    tensor["Shape"] = new JsonArray(3, 3);
                    break;
                case "kind": entries[0]!["Kind"] = "pickle"; break;
                case "duplicate": entries[1]!["Name"] = (string?)entries[0]!["Name"]; break;
                case "no-entries": head.Remove("Entries"); break;
            }
        });
        var before = File.ReadAllBytes(file);

        var result = ExperimentProcess.Run(["sine-maml", .. Quick, "--iterations", "40", "--output", output, "--resume", "latest"]);
        AssertOneLine(result, 2, "checkpoint", expected);
        Assert.Equal(before, File.ReadAllBytes(file));
    }

    /// <summary>Rewrites a checkpoint's JSON header and recomputes its checksum, as a forger would.</summary>
    private static void Forge(string path, Action<JsonObject> change)
    {
        var bytes = File.ReadAllBytes(path);
        var headLength = BitConverter.ToInt32(bytes, 8);
        var head = JsonNode.Parse(bytes.AsSpan(12, headLength))!.AsObject();
        change(head);
        var newHead = System.Text.Encoding.UTF8.GetBytes(head.ToJsonString());
        var body = new List<byte>();
        body.AddRange(bytes.AsSpan(0, 8).ToArray());
        body.AddRange(BitConverter.GetBytes(newHead.Length));
        body.AddRange(newHead);
        body.AddRange(bytes.AsSpan(12 + headLength, bytes.Length - 32 - 12 - headLength).ToArray());
        body.AddRange(SHA256.HashData([.. body]));
        File.WriteAllBytes(path, [.. body]);
    }

    private static void AssertOneLine(ExperimentProcess.Result result, int code, string names, string accepted)
    {
        Assert.True(result.ExitCode == code, $"exit {result.ExitCode}, expected {code}: {result.Error}");
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(names, line, StringComparison.Ordinal);
        Assert.Contains(accepted, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error + result.Output, StringComparison.Ordinal);
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private static bool Mount(string folder)
    {
        try
        {
            using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", folder])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            mount.WaitForExit();
            return mount.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected, polynomial 0xEDB88320).</summary>
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

    /// <summary>A valid tiny PNG (grey, 8-bit) whose header claims <paramref name="width"/> × <paramref name="height"/>.</summary>
    private static byte[] Png(int width, int height)
    {
        static byte[] Chunk(string type, byte[] data)
        {
            var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            return [.. BigEndian(data.Length), .. typed, .. BigEndian((int)Crc32(typed))];
        }
        static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
        byte[] header = [.. BigEndian(width), .. BigEndian(height), 8, 0, 0, 0, 0];
        var rows = Math.Min(height, 4);
        var raw = new byte[rows * (1 + Math.Min(width, 4))];
        Array.Fill(raw, (byte)255);
        for (var r = 0; r < rows; r++) raw[r * (1 + Math.Min(width, 4))] = 0;
        using var compressed = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        return [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, .. Chunk("IHDR", header), .. Chunk("IDAT", compressed.ToArray()), .. Chunk("IEND", [])];
    }
}
