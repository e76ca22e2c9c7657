using System.Diagnostics;
using Meta.Checkpoints;

namespace Meta.Tests.Hosting;

/// <summary>Runs that survive: resume, kill -9, numerical faults, and the fault corpus — through the real program.</summary>
[Collection(TorchCollection.Name)]
public sealed class SurvivalTests : IDisposable
{
    private static readonly string[] Quick = ["--eval-tasks", "8", "--pretrain-iterations", "0", "--meta-batch", "5", "--log-every", "50"];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "meta-survival-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Stop_and_resume_equals_an_uninterrupted_run_bit_for_bit()
    {
        var straight = Path.Combine(_root, "straight");
        var resumed = Path.Combine(_root, "resumed");
        Assert.Equal(0, Run(straight, "--iterations", "200", "--checkpoint-every", "50").ExitCode);
        Assert.Equal(0, Run(resumed, "--iterations", "100", "--checkpoint-every", "50").ExitCode);
        var second = Run(resumed, "--iterations", "200", "--checkpoint-every", "50", "--resume", "latest");
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("resuming after iteration 100", second.Output);

        Assert.Equal(FinalMeta(straight, 200), FinalMeta(resumed, 200));
        Assert.Equal(Losses(straight), Losses(resumed));
    }

    // With task threads the next episode is drawn during each step (EpisodeLookahead); a checkpoint written meanwhile
    // keeps the task generator from before that draw. So a run on two task threads resumed from a mid-run checkpoint, the
    // same run uninterrupted, and the run on one thread are one run, bit for bit (the MLP kernel's split is exact).
    [Fact]
    public void Two_task_threads_resumed_mid_run_equal_one_thread_uninterrupted_bit_for_bit()
    {
        string[] tasks = ["--threads", "2", "--parallelism", "tasks"];
        var one = Path.Combine(_root, "one-thread");
        var straight = Path.Combine(_root, "straight");
        var resumed = Path.Combine(_root, "resumed");
        Assert.Equal(0, Run(one, "--iterations", "160", "--checkpoint-every", "40").ExitCode);
        Assert.Equal(0, Run(straight, ["--iterations", "160", "--checkpoint-every", "40", .. tasks]).ExitCode);
        Assert.Equal(0, Run(resumed, ["--iterations", "100", "--checkpoint-every", "40", .. tasks]).ExitCode);
        var folder = Directory.GetDirectories(Path.Combine(resumed, "sine-maml")).Single();
        var midRun = Path.Combine(folder, "checkpoints", "iteration-00000080.ckpt");   // written with the next episode drawn
        Assert.True(File.Exists(midRun), "no checkpoint at iteration 80");
        File.Delete(Path.Combine(folder, "checkpoints", "iteration-00000100.ckpt"));
        var second = Run(resumed, ["--iterations", "160", "--checkpoint-every", "40", "--resume", midRun, .. tasks]);
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains("resuming after iteration 80", second.Output);

        Assert.Equal(FinalMeta(one, 160), FinalMeta(straight, 160));
        Assert.Equal(FinalMeta(straight, 160), FinalMeta(resumed, 160));
        Assert.Equal(Losses(one), Losses(straight));
        Assert.Equal(Losses(straight), Losses(resumed));
    }

    [Fact]
    public async Task Kill_9_at_random_moments_never_leaves_a_corrupt_latest_checkpoint()
    {
        var straight = Path.Combine(_root, "straight");
        var killed = Path.Combine(_root, "killed");
        string[] run = ["--iterations", "4000", "--checkpoint-every", "7", "--keep-checkpoints", "2"];
        Assert.Equal(0, Run(straight, run).ExitCode);

        var random = new Random(12345);
        var interrupted = 0;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            string[] resume = attempt == 0 ? [] : ["--resume", "latest"];
            using var process = ExperimentProcess.Start(["sine-maml", .. Quick, .. run, .. resume, "--output", killed]);
            var output = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            // Start the clock when training has begun (start-up alone can take seconds on a loaded machine).
            var begun = System.Diagnostics.Stopwatch.StartNew();
            while (!TrainingHasBegun(killed) && !process.HasExited && begun.Elapsed < TimeSpan.FromSeconds(90)) await Task.Delay(50);
            await Task.Delay(random.Next(100, 1500));
            process.Kill();                                                   // SIGKILL: no shutdown code runs
            process.WaitForExit();
            if (!(await output).Contains("completed after", StringComparison.Ordinal)) interrupted++;
            var store = new CheckpointStore(Directory.GetDirectories(Path.Combine(killed, "sine-maml")).Single(), 2);
            if (store.Latest() is { } latest) CheckpointFile.Read(latest);  // throws if corrupt
        }
        Assert.True(interrupted >= 3, $"only {interrupted} of 4 kills landed mid-run");
        var last = Run(killed, [.. run, "--resume", "latest"]);
        Assert.True(last.ExitCode == 0, $"the final resume exited {last.ExitCode}: {last.Error}");
        Assert.Equal(FinalMeta(straight, 4000), FinalMeta(killed, 4000));
        Assert.Equal(Losses(straight), Losses(killed));
    }

    // Begun = the first checkpoint exists: on a loaded machine a kill 100 ms after metrics.csv appeared could land before
    // it, and every later '--resume latest' would then rightly find nothing to resume (exit 2).
    private static bool TrainingHasBegun(string output) =>
        Directory.Exists(Path.Combine(output, "sine-maml"))
        && Directory.GetDirectories(Path.Combine(output, "sine-maml")).Any(d => new CheckpointStore(d, 1).Latest() is not null);

    [Fact]
    public void A_NaN_stops_the_run_naming_the_iteration_and_keeping_the_last_good_checkpoint()
    {
        var result = Run(_root, "--iterations", "50", "--inner-lr", "1e30");
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("error: iteration [0-9]+: the meta-(loss is|gradient has)", line);
        Assert.Contains("--on-non-finite skip", line);
        Assert.DoesNotContain("   at ", result.Error + result.Output);
    }

    [Fact]
    public void Skipping_non_finite_steps_finishes_the_run()
    {
        var result = Run(_root, "--iterations", "20", "--inner-lr", "1e30", "--on-non-finite", "skip");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("skipped", result.Output);
    }

    [Theory]
    [InlineData("truncated", "not a Meta checkpoint")]
    [InlineData("bitflip", "checksum mismatch")]
    public void A_damaged_checkpoint_is_refused_on_resume(string damage, string expected)
    {
        Assert.Equal(0, Run(_root, "--iterations", "20").ExitCode);
        var file = Directory.GetFiles(_root, "*.ckpt", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        if (damage == "truncated") bytes = bytes[..16];
        else bytes[bytes.Length / 3] ^= 0x01;
        File.WriteAllBytes(file, bytes);

        var result = Run(_root, "--iterations", "40", "--resume", "latest");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.Equal(bytes, File.ReadAllBytes(file));                          // nothing overwritten
    }

    [Fact]
    public void A_checkpoint_of_another_configuration_is_refused_and_nothing_is_overwritten()
    {
        Assert.Equal(0, Run(_root, "--iterations", "20").ExitCode);
        var file = Directory.GetFiles(_root, "*.ckpt", SearchOption.AllDirectories).Single();
        var before = File.ReadAllBytes(file);
        var result = Run(_root, "--iterations", "40", "--resume", "latest", "--inner-lr", "0.02");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("another configuration", result.Error);
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Single(Directory.GetFiles(_root, "*.ckpt", SearchOption.AllDirectories));
    }

    [Fact]
    public void Resume_with_nothing_to_resume_and_an_unwritable_output_are_bad_input()
    {
        var nothing = Run(_root, "--resume", "latest");
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("--resume: no checkpoint of sine-maml", nothing.Error);

        Directory.CreateDirectory(_root);
        var file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "");
        var unwritable = Run(file);
        Assert.Equal(2, unwritable.ExitCode);
        Assert.Contains("--output: cannot write the run folder", unwritable.Error);
    }

    private static ExperimentProcess.Result Run(string output, params string[] args) =>
        ExperimentProcess.Run(["sine-maml", .. Quick, .. args, "--output", output]);

    private static byte[] FinalMeta(string output, int iteration)
    {
        var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
        var reader = CheckpointFile.Read(Path.Combine(folder, "checkpoints", $"iteration-{iteration:D8}.ckpt"));
        using var meta = reader.Tensor("meta.value");
        return meta.bytes.ToArray();
    }

    private static string[] Losses(string output)
    {
        var folder = Directory.GetDirectories(Path.Combine(output, "sine-maml")).Single();
        return [.. File.ReadLines(Path.Combine(folder, "metrics.csv")).Skip(1).Select(l => l.Split(',')[1])];
    }
}
