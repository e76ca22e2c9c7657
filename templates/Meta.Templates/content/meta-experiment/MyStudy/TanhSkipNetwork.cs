using Meta;
using Meta.Functional;
using static TorchSharp.torch;

namespace MyStudy;

/// <summary>
/// A network of your own: one tanh hidden layer plus a linear skip connection, y = tanh(x·W₁ + b₁)·W₂ + x·S + b₂.
/// A functional network keeps no weights: Forward gets every task's own weights as one row of a [T, P] matrix, and
/// computes all tasks in one batched pass (bmm), so the meta-learning algorithm can differentiate through it.
/// </summary>
public sealed class TanhSkipNetwork : INetworkDefinition
{
    [Option("Width of the tanh hidden layer.", Minimum = 1)]
    public int Width { get; set; } = 32;

    public IFunctionalNetwork Create(NetworkContext context) => new Network(context.Shape.InputFeatures, Width, context.Shape.Outputs);

    private sealed class Network : IFunctionalNetwork
    {
        private readonly int _width;
        private readonly long[] _sizes;

        public Network(int inputs, int width, int outputs)
        {
            (Inputs, _width, Outputs) = (inputs, width, outputs);
            // Named slots of the flat weight vector; the last number is the layer (for per-layer learning rates).
            Layout = ParameterLayout.Of(
                ("hidden.weight", [inputs, width], 0),
                ("hidden.bias", [width], 0),
                ("output.weight", [width, outputs], 1),
                ("skip.weight", [inputs, outputs], 1),
                ("output.bias", [outputs], 1));
            _sizes = [.. Layout.Slots.Select(slot => slot.Size)];
        }

        public ParameterLayout Layout { get; }
        public int Inputs { get; }
        public int Outputs { get; }

        /// <summary>θ [P]: weights uniform in ±1/√fan-in, biases and the skip zero; only <paramref name="generator"/> is random.</summary>
        public Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32)
        {
            using var scope = NewDisposeScope();
            Tensor Uniform(long[] shape, int fanIn) => (rand(shape, generator: generator, dtype: dtype) * 2 - 1) / Math.Sqrt(fanIn);
            Tensor[] pieces =
            [
                Uniform([Inputs, _width], Inputs), zeros(_width, dtype),
                Uniform([_width, Outputs], _width), zeros(Inputs * Outputs, dtype), zeros(Outputs, dtype),
            ];
            return cat(pieces.Select(p => p.flatten()).ToArray(), 0).MoveToOuterDisposeScope();
        }

        /// <summary>weights [T, P], input [T, N, Inputs] → [T, N, Outputs].</summary>
        public Tensor Forward(Tensor weights, Tensor input)
        {
            var tasks = weights.shape[0];
            var p = weights.split(_sizes, 1);
            var x = input.dim() > 3 ? input.flatten(2) : input;
            var hidden = tanh(x.bmm(p[0].view(tasks, Inputs, _width)) + p[1].view(tasks, 1, _width));
            return hidden.bmm(p[2].view(tasks, _width, Outputs)) + x.bmm(p[3].view(tasks, Inputs, Outputs)) + p[4].view(tasks, 1, Outputs);
        }
    }
}
