using Meta.Algorithms;
using Meta.Evaluation;
using Meta.Functional;
using Meta.Tasks.Images;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

[Collection(TorchCollection.Name)]
public sealed class FewShotEvaluationTests
{
    [Fact]
    public void Scores_do_not_depend_on_the_chunk_size_and_episodes_are_fixed_by_the_seed()
    {
        using var scope = NewDisposeScope();
        using var dataset = ImageTestData.Random(classes: 8, perClass: 5, channels: 1, side: 8);
        var family = new FewShotFamily(dataset, ways: 3, shots: 1, queries: 2, dtype: ScalarType.Float64);
        var network = new ConvNet(3, 1, 8, 8, filters: 2, blocks: 2);
        using var g = new Generator(3);
        var theta = network.Initialize(WeightInit.PyTorch, g, ScalarType.Float64);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 1, 0.5, firstOrder: true);

        var whole = new FewShotEvaluation(family, seed: 11, episodes: 30, chunk: 30).Evaluate(maml, theta, steps: 2);
        var chunked = new FewShotEvaluation(family, seed: 11, episodes: 30, chunk: 7).Evaluate(maml, theta, steps: 2);
        Assert.Equal(whole.Accuracy, chunked.Accuracy);
        Assert.Equal(whole.Ci95, chunked.Ci95);
        Assert.Equal(whole.Loss, chunked.Loss, 12);
        Assert.Equal(30, whole.Episodes);
        Assert.InRange(whole.Accuracy, 0, 1);
        Assert.True(whole.Ci95 > 0);

        // The first 10 episodes of a 30-episode test are a 10-episode test's episodes.
        var ten = new FewShotEvaluation(family, seed: 11, episodes: 10).Draw(0, 10);
        var thirty = new FewShotEvaluation(family, seed: 11, episodes: 30).Draw(0, 10);
        Assert.True(ten.QueryX.Same(thirty.QueryX));
        Assert.False(ten.QueryX.Same(new FewShotEvaluation(family, seed: 12, episodes: 10).Draw(0, 10).QueryX));
    }

    [Fact]
    public void Accuracy_and_interval_follow_the_per_episode_scores()
    {
        // Classes are constant images of distinct brightness: an adapted net separates them; a CI needs the sd formula.
        using var scope = NewDisposeScope();
        var pixels = new List<byte>();
        for (var c = 0; c < 4; c++)
            for (var i = 0; i < 4; i++)
                pixels.AddRange(Enumerable.Repeat((byte)(40 + 60 * c), 16));
        using var dataset = ImageClassDataset.FromPixels([.. pixels], [.. Enumerable.Range(0, 4).Select(c => ($"level{c}", 4))], 1, 4, 4);
        var family = new FewShotFamily(dataset, ways: 2, shots: 1, queries: 1, dtype: ScalarType.Float64);
        var network = new ConvNet(2, 1, 4, 4, filters: 1, blocks: 1, batchNorm: false);
        var theta = zeros(network.Layout.Count, ScalarType.Float64);
        var maml = new Maml(network, TaskLoss.CrossEntropyLoss, 1, 0.5, firstOrder: true);

        // Zero weights give equal logits: argmax picks label 0, right for exactly half of the query images of every episode.
        var score = new FewShotEvaluation(family, seed: 1, episodes: 20).Evaluate(maml, theta, steps: 0);
        Assert.Equal(0.5, score.Accuracy, 12);
        Assert.Equal(0.0, score.Ci95, 12);
        Assert.Equal(Math.Log(2), score.Loss, 12);
        Assert.Equal("50.00 ± 0.00 %", score.Percent);
    }
}
