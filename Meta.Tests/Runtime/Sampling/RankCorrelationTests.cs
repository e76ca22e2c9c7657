using Meta.Sampling;

namespace Meta.Tests.Runtime.Sampling;

public sealed class RankCorrelationTests
{
    [Fact]
    public void Ties_share_the_average_rank()
    {
        Assert.Equal(new[] { 1, 2.5, 2.5, 4 }, RankCorrelation.AverageRanks([10, 20, 20, 30]));
        Assert.Equal(new[] { 2.0, 2, 2 }, RankCorrelation.AverageRanks([5, 5, 5]));
        Assert.Equal(new[] { 3, 1.5, 1.5 }, RankCorrelation.AverageRanks([9, 1, 1]));
    }

    [Fact]
    public void Spearman_matches_known_values()
    {
        // The standard textbook example (also SciPy's spearmanr documentation): 0.8207826816681233.
        Assert.Equal(0.8207826816681233, RankCorrelation.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 12);
        Assert.Equal(1.0, RankCorrelation.Spearman([1, 2, 3], [10, 100, 1000]), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman([1, 2, 3], [3, 2, 1]), 12);
    }

    [Fact]
    public void Spearman_is_undefined_for_a_constant_sample()
    {
        Assert.True(double.IsNaN(RankCorrelation.Spearman([0, 0, 0], [1, 2, 3])));
        Assert.True(double.IsNaN(RankCorrelation.Spearman([1], [2])));
        Assert.Throws<ArgumentException>(() => RankCorrelation.Spearman([1, 2], [1, 2, 3]));
    }
}
