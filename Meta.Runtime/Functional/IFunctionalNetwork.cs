using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>How to initialise a network's weights.</summary>
public enum WeightInit
{
    /// <summary>
    /// Finn et al.'s reference code, biases zero. MLP: weights from a normal with std 0.01 truncated at two std. Conv net:
    /// Glorot (Xavier) uniform weights.
    /// </summary>
    Finn,
    /// <summary>PyTorch's <c>nn.Linear</c> / <c>nn.Conv2d</c> default: weights and biases uniform in ±1/√fan_in.</summary>
    PyTorch,
}

/// <summary>
/// A network whose weights are passed in explicitly, with a leading task dimension: one forward pass serves all T
/// tasks of a meta-batch, each with its own weights. A single task is T = 1; there is no other code path.
/// </summary>
public interface IFunctionalNetwork
{
    /// <summary>The flat parameter layout (P scalars per task).</summary>
    ParameterLayout Layout { get; }

    /// <summary>Number of input features.</summary>
    int Inputs { get; }

    /// <summary>Number of outputs.</summary>
    int Outputs { get; }

    /// <summary>Fresh weights θ, shape [P], drawn from <paramref name="generator"/>.</summary>
    Tensor Initialize(WeightInit scheme, Generator generator, ScalarType dtype = ScalarType.Float32);

    /// <summary>Forward pass: <paramref name="weights"/> [T, P], <paramref name="input"/> [T, N, Inputs] → [T, N, Outputs].</summary>
    Tensor Forward(Tensor weights, Tensor input);
}
