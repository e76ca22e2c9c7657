using Meta.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Training;

[Collection(TorchCollection.Name)]
public sealed class GradientClipTests
{
    [Fact]
    public void A_gradient_above_the_bound_is_scaled_to_it_along_its_own_direction_and_one_within_is_untouched()
    {
        using var scope = NewDisposeScope();
        var gradient = tensor(new[] { 3.0f, 0f, -4f });
        var norm = GradientClip.Norm(gradient);
        Assert.Equal(5.0, norm, 6);

        Assert.False(GradientClip.Apply(gradient, 10, norm));
        Assert.False(GradientClip.Apply(gradient, 0, norm));                                       // 0 is off
        Assert.Equal(new[] { 3f, 0f, -4f }, gradient.data<float>().ToArray());

        Assert.True(GradientClip.Apply(gradient, 1, norm));
        var clipped = gradient.data<float>().ToArray();
        Assert.Equal(0.6, clipped[0], 6);
        Assert.Equal(-0.8, clipped[2], 6);
        Assert.Equal(1.0, GradientClip.Norm(gradient), 6);
    }

    [Fact]
    public void The_norm_does_not_overflow_in_float32_and_a_non_finite_norm_is_left_to_the_non_finite_policy()
    {
        using var scope = NewDisposeScope();
        var huge = tensor(new[] { 3e30f, 4e30f });
        Assert.Equal(1.0, GradientClip.Norm(huge) / 5e30, 6);

        var bad = tensor(new[] { float.NaN, 1f });
        Assert.True(double.IsNaN(GradientClip.Norm(bad)));
        Assert.False(GradientClip.Apply(bad, 1, GradientClip.Norm(bad)));
        Assert.Equal(1f, bad.data<float>()[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClip.Apply(bad, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClip.Apply(bad, double.PositiveInfinity, 1));
    }
}
