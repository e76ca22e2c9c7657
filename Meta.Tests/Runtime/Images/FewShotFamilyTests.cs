using Meta.Tasks.Images;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

[Collection(TorchCollection.Name)]
public sealed class FewShotFamilyTests
{
    [Fact]
    public void Episodes_have_N_distinct_classes_disjoint_support_and_query_and_labels_0_to_N_minus_1()
    {
        using var scope = NewDisposeScope();
        using var dataset = ImageTestData.Labelled(5, 6, 7, 8, 5, 6, 7, 8, 9, 5, 6, 7);
        var family = new FewShotFamily(dataset, ways: 5, shots: 2, queries: 3);
        using var g = new Generator(4);

        var episode = family.Draw(20, g, out var classes);

        Assert.Equal([20L, 10, 1, 2, 2], episode.SupportX.shape);
        Assert.Equal([20L, 10], episode.SupportY.shape);
        Assert.Equal([20L, 15, 1, 2, 2], episode.QueryX.shape);
        Assert.Equal([20L, 15], episode.QueryY.shape);
        Assert.Equal(ScalarType.Int64, episode.SupportY.dtype);
        var support = Decode(episode.SupportX);
        var query = Decode(episode.QueryX);
        var supportLabels = episode.SupportY.data<long>().ToArray();
        var queryLabels = episode.QueryY.data<long>().ToArray();
        var drawn = classes.data<long>().ToArray();
        for (var t = 0; t < 20; t++)
        {
            var classOf = new Dictionary<long, int>();
            var seen = new HashSet<(int, int)>();
            foreach (var (images, labels, perClass, offset) in new[] { (support, supportLabels, 2, t * 10), (query, queryLabels, 3, t * 15) })
            {
                for (var j = 0; j < 5 * perClass; j++)
                {
                    var (cls, index) = images[offset + j];
                    var label = labels[offset + j];
                    Assert.Equal(j / perClass, label);                                 // grouped by label, 0..N−1
                    if (classOf.TryGetValue(label, out var known)) Assert.Equal(known, cls); // one class per label, support = query
                    classOf[label] = cls;
                    Assert.True(seen.Add((cls, index)), $"task {t}: image {index} of class {cls} drawn twice");
                    Assert.InRange(index, 0, dataset.ImagesIn(cls) - 1);
                }
            }
            Assert.Equal(5, classOf.Values.Distinct().Count());                     // N distinct classes
            Assert.Equal(drawn.Skip(t * 5).Take(5), Enumerable.Range(0, 5).Select(j => (long)classOf[j]));
        }
    }

    [Fact]
    public void Draws_are_fixed_by_the_generator_and_cover_every_class_and_image()
    {
        using var scope = NewDisposeScope();
        using var dataset = ImageTestData.Labelled(4, 4, 4, 4, 4, 4);
        var family = new FewShotFamily(dataset, 3, 1, 1);
        using var a = new Generator(9);
        using var b = new Generator(9);
        using var c = new Generator(10);
        var first = family.Draw(50, a);
        Assert.True(first.SupportX.Same(family.Draw(50, b).SupportX));
        Assert.False(first.SupportX.Same(family.Draw(50, c).SupportX));

        // A checkpointed stream resumes the same draws.
        using var state = a.get_state();
        var next = family.Draw(5, a);
        a.set_state(state);
        Assert.True(next.QueryX.Same(family.Draw(5, a).QueryX));

        var images = Decode(first.SupportX).Concat(Decode(first.QueryX)).ToHashSet();
        Assert.Equal(24, images.Count);
    }

    [Fact]
    public void Rotation_classes_are_rotated_copies_and_episodes_rotate_them()
    {
        using var scope = NewDisposeScope();
        using var dataset = ImageTestData.Random(classes: 3, perClass: 4, channels: 1, side: 5);
        using var rotated = dataset.WithRotations(0, 1, 2, 3);
        Assert.Equal(12, rotated.Classes);
        Assert.Equal("class1@270", rotated.ClassNames[7]);
        for (var c = 0; c < 3; c++)
            for (var k = 0; k < 4; k++)
                Assert.True(rotated.Images(4 * c + k).Same(dataset.Images(c).rot90(k, (2, 3))));

        var family = new FewShotFamily(rotated, 4, 1, 1);
        using var g = new Generator(2);
        var episode = family.Draw(10, g, out var classes);
        var drawn = classes.data<long>().ToArray();
        for (var t = 0; t < 10; t++)
            for (var j = 0; j < 4; j++)
            {
                var image = episode.SupportX[t, j];
                var candidates = rotated.Images((int)drawn[t * 4 + j]);
                Assert.Contains(Enumerable.Range(0, 4), i => candidates[i].Same(image));
            }
    }

    [Fact]
    public void Too_few_classes_or_images_is_a_one_line_dataset_error()
    {
        using var dataset = ImageTestData.Labelled(5, 5, 3);
        var ways = Assert.Throws<DatasetException>(() => new FewShotFamily(dataset, 4, 1, 1, source: "the tiny split"));
        Assert.Equal("4-way tasks need at least 4 classes, but the tiny split has 3", ways.Message);
        var images = Assert.Throws<DatasetException>(() => new FewShotFamily(dataset, 3, 2, 2, source: "the tiny split"));
        Assert.Equal("class 'class2' of the tiny split has 3 images; 2-shot tasks with 2 query images per class need 4", images.Message);
        Assert.DoesNotContain('\n', images.Message);
    }

    [Fact]
    public void Selections_share_storage_and_keep_names()
    {
        using var scope = NewDisposeScope();
        using var dataset = ImageTestData.Labelled(2, 3, 4);
        using var selection = dataset.Select([2, 0]);
        dataset.Dispose();
        Assert.Equal(["class2", "class0"], selection.ClassNames);
        Assert.Equal(4, selection.ImagesIn(0));
        Assert.Equal(2, (int)Math.Round(selection.Images(0)[0, 0, 0, 0].ToDouble() * 255));
    }

    /// <summary>(class, image) of each image of a Labelled dataset, flattened over tasks and points.</summary>
    private static List<(int Class, int Index)> Decode(Tensor images)
    {
        var values = (images.flatten(0, 1) * 255).round().to_type(ScalarType.Int64).view(-1, 4).data<long>().ToArray();
        var result = new List<(int, int)>();
        for (var i = 0; i < values.Length; i += 4)
        {
            Assert.Equal(7, values[i + 2]);
            result.Add(((int)values[i], (int)values[i + 1]));
        }
        return result;
    }
}
