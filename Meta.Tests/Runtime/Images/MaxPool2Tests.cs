using Meta.Functional;
using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Tests.Runtime.Images;

/// <summary>
/// The managed 2 × 2 max-pool against libtorch's max_pool2d: values, argmax positions, gradients and the gradient of a
/// gradient, bit for bit, on every path of the kernel (eight-wide rows, four-wide rows, the scalar rows, float64, the
/// fallbacks) and on the inputs where the argmax is delicate (ties, NaN, ±∞).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MaxPool2Tests
{
    // (H, W): 28 and 14 (Omniglot's blocks; 14 and 7 windows per row: eight-wide with an overlapping last chunk, four-wide
    // with one), 7 and 3 (three and one window: scalar), 84 and 42 (Mini-ImageNet's), odd and non-square maps, a single window.
    public static TheoryData<ScalarType, int, int> Shapes()
    {
        var data = new TheoryData<ScalarType, int, int>();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            foreach (var (h, w) in new[] { (28, 28), (14, 14), (7, 7), (3, 3), (84, 84), (42, 42), (5, 9), (9, 17), (4, 34), (2, 2) })
                data.Add(dtype, h, w);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Values_positions_and_gradients_equal_libtorch_max_pool(ScalarType dtype, int h, int w)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(7);
        var x = randn([3, 4, h, w], ScalarType.Float64, generator: g).to_type(dtype);
        AssertSameAsLibtorch(x, g);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Ties_NaN_and_infinities_pick_the_position_libtorch_picks(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(8);
        // Values from a small set, so most windows hold ties; NaN, +∞ and −∞ sprinkled in, sometimes several per window.
        var x = randint(0, 3, [2, 3, 12, 36], ScalarType.Float64, generator: g);
        var special = rand([2, 3, 12, 36], ScalarType.Float64, generator: g);
        x = where(special < 0.05, full_like(x, double.NaN), x);
        x = where((special >= 0.05) & (special < 0.1), full_like(x, double.PositiveInfinity), x);
        x = where((special >= 0.1) & (special < 0.2), full_like(x, double.NegativeInfinity), x);
        x[0, 0, 0, 0] = tensor(double.NaN);                         // two NaNs in one window: libtorch keeps the last
        x[0, 0, 1, 1] = tensor(double.NaN);
        x[0, 1, ..2, ..2] = full([2, 2], double.NegativeInfinity);    // a window of −∞ only: its first position
        x = x.to_type(dtype);

        var (expected, expectedIndices) = nn.functional.max_pool2d_with_indices(x, [2, 2]);
        var actual = MaxPool2.Apply(x);
        Assert.True(actual.isnan().eq(expected.isnan()).all().item<bool>());
        Assert.True(nan_to_num(actual).eq(nan_to_num(expected)).all().item<bool>());
        Assert.True(MaxPool2.Positions(x).eq(expectedIndices.flatten(2)).all().item<bool>());
    }

    [Fact]
    public void Two_threads_give_the_one_thread_positions()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(9);
        var x = randn([5, 64, 28, 28], generator: g);                      // large enough to be split
        var threads = get_num_threads();
        try
        {
            set_num_threads(2);
            Assert.True(MaxPool2.Apply(x).eq(nn.functional.max_pool2d(x, 2)).all().item<bool>());
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void Non_contiguous_and_non_float_inputs_take_libtorch_max_pool()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(10);
        var transposed = randn([2, 3, 8, 6], ScalarType.Float64, generator: g).transpose(2, 3);
        AssertSameAsLibtorch(transposed, g);
        var channelsLast = randn([2, 8, 8, 3], generator: g).permute(0, 3, 1, 2);                 // NHWC memory
        Assert.True(MaxPool2.Apply(channelsLast).eq(nn.functional.max_pool2d(channelsLast, 2)).all().item<bool>());
        var halves = randn([2, 3, 8, 8], generator: g).to_type(ScalarType.BFloat16);
        Assert.True(MaxPool2.Apply(halves).eq(nn.functional.max_pool2d(halves, 2)).all().item<bool>());
    }

    // Values, positions, the gradient for a random upstream gradient u, and the gradient of ⟨∇, v⟩ with respect to u
    // (the double backward MAML's second order takes through the pool), each bit for bit.
    private static void AssertSameAsLibtorch(Tensor input, Generator g)
    {
        var x = input.detach().requires_grad_(true);
        var reference = nn.functional.max_pool2d(x, 2);
        var actual = MaxPool2.Apply(x);
        Assert.Equal(reference.shape, actual.shape);
        Assert.True(actual.eq(reference).all().item<bool>());
        if (input.is_contiguous())
            Assert.True(MaxPool2.Positions(input).eq(nn.functional.max_pool2d_with_indices(input, [2, 2]).Item2.flatten(2)).all().item<bool>());

        var u = randn(actual.shape, ScalarType.Float64, generator: g).to_type(input.dtype).requires_grad_(true);
        var v = randn(input.shape, ScalarType.Float64, generator: g).to_type(input.dtype);
        var expectedGradient = autograd.grad([reference], [x], [u], create_graph: true)[0];
        var actualGradient = autograd.grad([actual], [x], [u], create_graph: true)[0];
        Assert.True(actualGradient.eq(expectedGradient).all().item<bool>());
        var expectedSecond = autograd.grad([(expectedGradient * v).sum()], [u])[0];
        var actualSecond = autograd.grad([(actualGradient * v).sum()], [u])[0];
        Assert.True(actualSecond.eq(expectedSecond).all().item<bool>());
    }
}
