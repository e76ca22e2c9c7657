using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>
/// A hint from algorithms to networks: whether the autograd graphs of the network passes run on this thread will be
/// differentiated at most once (a backward pass, or a gradient without <c>create_graph</c>) or may be differentiated
/// again (second-order MAML, Hessian-vector products). A network may choose its memory layout by it, never its values
/// beyond float rounding: every layout must compute every derivative correctly, the hint only says which one is fast.
/// <see cref="ConvNet"/> runs channels-last (NHWC) when graphs are differentiated at most once, where libtorch's CPU
/// max-pool and convolutions are fastest (a first-order conv-4 step 1.4–1.5× faster), and NCHW otherwise, where batch
/// norm's double backward is (channels-last made a second-order step 2.5× slower).
/// </summary>
/// <remarks>
/// Outside any scope the answer is "maybe twice", unless autograd records nothing (<c>no_grad</c>). Algorithms open
/// <see cref="DifferentiatedOnce"/> around passes they differentiate once: first-order MAML's meta-step, every inner
/// gradient taken without a graph (first-order inner loops, Reptile, test-time adaptation). The scope belongs to the
/// thread that opens it; task-parallel chunks open their own, since each runs the algorithm's meta-step.
/// </remarks>
public static class PassGraphs
{
    [ThreadStatic] private static int t_once;

    /// <summary>
    /// True when the graphs of passes run now on this thread will be differentiated at most once: inside a
    /// <see cref="DifferentiatedOnce"/> scope, or while autograd records nothing.
    /// </summary>
    public static bool DifferentiatedAtMostOnce => t_once > 0 || !is_grad_enabled();

    /// <summary>Declares, until the scope is disposed, that the graphs of the passes this thread runs are differentiated at most once.</summary>
    public static Scope DifferentiatedOnce()
    {
        t_once++;
        return new Scope(open: true);
    }

    /// <summary>Declares nothing when <paramref name="once"/> is false (a second-order step), as <see cref="DifferentiatedOnce"/> when it is true.</summary>
    public static Scope DifferentiatedOnceIf(bool once) => once ? DifferentiatedOnce() : default;

    /// <summary>An open <see cref="DifferentiatedOnce"/> declaration; disposing it ends it.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _open;

        internal Scope(bool open) => _open = open;

        /// <summary>Ends the declaration.</summary>
        public void Dispose()
        {
            if (_open) t_once--;
        }
    }
}
