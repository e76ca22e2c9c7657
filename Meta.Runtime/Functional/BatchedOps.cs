using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>Task-batched tensor operations with pinned semantics.</summary>
public static class BatchedOps
{
    /// <summary>
    /// bias + input @ weights for a batch of tasks: <paramref name="input"/> [T, N, I], <paramref name="weights"/> [T, I, O],
    /// <paramref name="bias"/> broadcastable to [T, N, O]. One fused kernel.
    /// </summary>
    /// <remarks>
    /// TorchSharp 0.107's binding of <c>baddbmm</c> rotates its arguments: <c>torch.baddbmm(a, b, c)</c> computes
    /// <c>c + a @ b</c>. This wrapper is the one place that knows, and a unit test pins the semantics so that an upstream
    /// fix shows up as a failing test instead of silently wrong results.
    /// </remarks>
    public static Tensor AddBatchMatMul(Tensor bias, Tensor input, Tensor weights) => torch.baddbmm(input, weights, bias);

    /// <summary>Ungrouped float32 convolutions whose output channels are not a multiple of this run as two groups (<see cref="Conv2d"/>).</summary>
    public const int ConvolutionChannelBlock = 16;

    /// <summary>The most images <see cref="Conv2d"/> hands libtorch in one float32 convolution that records gradients.</summary>
    public const int ConvolutionBatchChunk = 8;

    /// <summary>
    /// <c>nn.functional.conv2d</c> with correct float32 gradients: the same arguments, the same function, differentiable to
    /// every order. Network code should call this instead of <c>conv2d</c>; <see cref="ConvNet"/> does.
    /// </summary>
    /// <remarks>
    /// <para>
    /// libtorch 2.10 (TorchSharp 0.107) gets two float32 CPU convolution gradients wrong where oneDNN runs its vector
    /// kernels (measured on an AVX-512 EPYC: <c>ONEDNN_MAX_CPU_ISA=AVX</c> removed the first fault, <c>SSE41</c> both, at
    /// half the speed). Forward values are right; float64, which oneDNN does not handle, and PyTorch 1.13 are right:
    /// </para>
    /// <list type="bullet">
    /// <item>the gradient with respect to the input of an ungrouped convolution whose output channels are not a multiple
    /// of 16, for two or more images: relative errors of 0.05–1.1, often NaN;</item>
    /// <item>the second-order term, the derivative of the input gradient with respect to the weights, from about ten images
    /// up, grouped or not: relative errors of 0.04–0.17 or NaN. Second-order MAML through a conv net meets it in every
    /// block after the first — a 5-way 5-shot support set is 25 images.</item>
    /// </list>
    /// <para>
    /// So while gradients are being recorded, this hands libtorch at most <see cref="ConvolutionBatchChunk"/> images per
    /// convolution (a convolution treats each image alone, so the chunks' outputs concatenated are the same result), and
    /// runs an affected ungrouped convolution as two groups over the input twice (half the filters each, a zero filter
    /// added when the count is odd): the same work, through kernels that are right. Inside <see cref="FirstOrderOnly"/>
    /// large batches stay whole (only the second-order term needs the chunks). No gradients, float64, other devices, or
    /// at most eight images with 16·k filters or grouped: plain <c>conv2d</c>, unchanged.
    /// <c>Conv2dTests</c> compare outputs, both gradients and both second-order terms with float64 over shapes on both
    /// sides of each boundary (24 of them fail with this switched off), so a libtorch upgrade that fixes or moves the
    /// faults shows.
    /// </para>
    /// </remarks>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? strides = null, long[]? padding = null,
        long[]? dilation = null, long groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 4 || input.dim() != 4 || weight.dtype != ScalarType.Float32 || weight.device_type != DeviceType.CPU
            || !torch.is_grad_enabled() || !(input.requires_grad || weight.requires_grad))
            return nn.functional.conv2d(input, weight, bias, strides, padding, dilation, groups);
        var images = input.size(0);
        if (images <= ConvolutionBatchChunk || t_firstOrderOnly > 0) return Conv2dChunk(input, weight, bias, strides, padding, dilation, groups);
        var outputs = new List<Tensor>();
        try
        {
            for (long start = 0; start < images; start += ConvolutionBatchChunk)
            {
                using var chunk = input.narrow(0, start, Math.Min(ConvolutionBatchChunk, images - start));
                outputs.Add(Conv2dChunk(chunk, weight, bias, strides, padding, dilation, groups));
            }
            return torch.cat(outputs, 0);
        }
        finally
        {
            foreach (var output in outputs) output.Dispose();
        }
    }

    [ThreadStatic] private static int t_firstOrderOnly;

    /// <summary>
    /// Declares, on this thread until the result is disposed, that what is recorded is differentiated only once: no
    /// gradient taken through it is differentiated again (a query pass, a first-order inner step, test-time adaptation).
    /// <see cref="Conv2d"/> then leaves large batches whole, since only the second-order term needs them split; the
    /// first-order fault is still routed around. Scopes nest. Inside one, a second-order gradient through a convolution
    /// of more than <see cref="ConvolutionBatchChunk"/> float32 images can be wrong, so declare only what is true.
    /// </summary>
    public static FirstOrderScope FirstOrderOnly()
    {
        t_firstOrderOnly++;
        return new FirstOrderScope();
    }

    /// <summary>The scope <see cref="FirstOrderOnly"/> opens; disposing it closes it.</summary>
    public readonly struct FirstOrderScope : IDisposable
    {
        /// <summary>Closes the scope.</summary>
        public void Dispose() => t_firstOrderOnly--;
    }

    private static Tensor Conv2dChunk(Tensor input, Tensor weight, Tensor? bias, long[]? strides, long[]? padding, long[]? dilation, long groups)
    {
        var outChannels = weight.size(0);
        if (groups != 1 || outChannels % ConvolutionChannelBlock == 0 || !input.requires_grad)
            return nn.functional.conv2d(input, weight, bias, strides, padding, dilation, groups);
        // The same convolution as two groups: the input twice over the channels, the first half of the filters on the first
        // copy and the second half (with a zero filter when the count is odd) on the second.
        var odd = outChannels % 2;
        using var twice = torch.cat([input, input], 1);
        using var zeroFilter = odd == 0 ? null : torch.zeros([1, weight.size(1), weight.size(2), weight.size(3)], weight.dtype, weight.device);
        using var evenWeight = odd == 0 ? weight.alias() : torch.cat([weight, zeroFilter!], 0);
        using var zeroBias = bias is null || odd == 0 ? null : torch.zeros(1, bias.dtype, bias.device);
        using var evenBias = bias is null ? null : odd == 0 ? bias.alias() : torch.cat([bias, zeroBias!], 0);
        using var output = nn.functional.conv2d(twice, evenWeight, evenBias, strides, padding, dilation, 2);
        if (odd == 0) return output.alias();
        using var kept = output.narrow(1, 0, outChannels);
        return kept.contiguous();
    }
}
