using Meta.Algorithms;
using Meta.Checkpoints;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Checkpoints;

[Collection(TorchCollection.Name)]
public sealed class CheckpointTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "meta-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Stopping_and_resuming_is_bit_identical_to_an_uninterrupted_run()
    {
        var straight = new Trainer(seed: 4);
        straight.Run(200);

        var first = new Trainer(seed: 4);
        first.Run(100);
        var store = new CheckpointStore(_folder, keep: 2);
        var path = store.Save(Manifest(100), first.Parts);
        first.Dispose();

        var resumed = new Trainer(seed: 999);                // different seed: everything must come from the checkpoint
        CheckpointStore.Restore(CheckpointFile.Read(path), resumed.Parts);
        resumed.Run(100);

        Assert.Equal(straight.Meta.data<float>().ToArray(), resumed.Meta.data<float>().ToArray());
        Assert.Equal(straight.Losses.Skip(100), resumed.Losses);
        straight.Dispose();
        resumed.Dispose();
    }

    [Fact]
    public void The_store_keeps_the_newest_k_and_never_exposes_a_partial_file()
    {
        using var trainer = new Trainer(seed: 1);
        var store = new CheckpointStore(_folder, keep: 2);
        for (var i = 1; i <= 4; i++) store.Save(Manifest(i * 10), trainer.Parts);
        Assert.Equal(["iteration-00000030.ckpt", "iteration-00000040.ckpt"], store.List().Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(store.Directory, "*.tmp"));
        Assert.Equal(40, CheckpointFile.Read(store.Latest()!).Manifest.Iteration);
    }

    [Theory]
    [InlineData("truncated", "not a Meta checkpoint")]
    [InlineData("half", "corrupt")]
    [InlineData("bitflip", "corrupt (checksum mismatch)")]
    [InlineData("garbage", "not a Meta checkpoint")]
    [InlineData("empty", "not a Meta checkpoint")]
    public void Damaged_checkpoints_are_refused_with_a_clear_error(string damage, string expected)
    {
        using var trainer = new Trainer(seed: 1);
        var path = new CheckpointStore(_folder, 1).Save(Manifest(5), trainer.Parts);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncated" => bytes[..20],
            "half" => bytes[..(bytes.Length / 2)],
            "bitflip" => Flip(bytes, bytes.Length / 2),
            "garbage" => [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))],
            _ => [],
        });
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Read(path));
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_checkpoint_from_another_architecture_is_refused_and_nothing_is_changed()
    {
        using var trainer = new Trainer(seed: 1);
        var path = new CheckpointStore(_folder, 1).Save(Manifest(5), trainer.Parts);
        using var other = new Trainer(seed: 2, hidden: 20);
        var before = other.Meta.data<float>().ToArray();
        var error = Assert.Throws<CheckpointException>(() => CheckpointStore.Restore(CheckpointFile.Read(path), other.Parts));
        Assert.Contains("another architecture", error.Message);
        Assert.Equal(before, other.Meta.data<float>().ToArray());
    }

    [Fact]
    public void Configuration_hash_ignores_resume_safe_keys_only()
    {
        var ignored = new HashSet<string> { "Iterations" };
        var a = CheckpointFile.ConfigurationHash([new("Iterations", "10"), new("InnerLr", "0.01")], ignored);
        var b = CheckpointFile.ConfigurationHash([new("InnerLr", "0.01"), new("Iterations", "99")], ignored);
        var c = CheckpointFile.ConfigurationHash([new("InnerLr", "0.02"), new("Iterations", "10")], ignored);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = bytes.ToArray();
        copy[at] ^= 0x10;
        return copy;
    }

    private static CheckpointManifest Manifest(long iteration) =>
        new("test", "maml", iteration, "hash", CheckpointManifest.CurrentVersions(), DateTimeOffset.UnixEpoch);

    /// <summary>A MAML trainer with all of its state exposed as checkpoint parts.</summary>
    private sealed class Trainer : IDisposable
    {
        private readonly RunSeeds _seeds;
        private readonly SinusoidFamily _family = new(SinusoidRanges.Default);
        private readonly Maml _maml;
        private readonly Adam _adam;

        public Trainer(long seed, int hidden = 10)
        {
            var network = new Mlp(1, hidden, hidden, 1);
            _seeds = new RunSeeds(seed);
            using var theta = network.Initialize(WeightInit.Finn, _seeds.Weights);
            _maml = new Maml(network, 1, 0.01, firstOrder: false);
            Meta = _maml.InitialMetaParameters(theta).DetachFromDisposeScope();
            _adam = new Adam(Meta, 0.001);
            Parts = [("meta.", new TensorState(Meta)), ("adam.", _adam), ("seeds.", _seeds)];
        }

        public Tensor Meta { get; }
        public List<float> Losses { get; } = [];
        public IReadOnlyList<(string, ICheckpointable)> Parts { get; }

        public void Run(int iterations)
        {
            for (var i = 0; i < iterations; i++)
            {
                using var scope = NewDisposeScope();
                var step = _maml.MetaStep(Meta, _family.Episode(_family.Sample(5, _seeds.Tasks), 5, 5, _seeds.Tasks));
                _adam.Step(step.Gradient);
                Losses.Add(step.MetaLoss.ToSingle());
            }
        }

        public void Dispose()
        {
            _adam.Dispose();
            _seeds.Dispose();
            Meta.Dispose();
        }
    }
}
