using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Functional;

/// <summary>The nonlinearity between the layers of an MLP.</summary>
public enum Activation
{
    /// <summary>max(0, x): the MAML paper's sinusoid network.</summary>
    Relu,
    /// <summary>tanh(x): smooth, with a Hessian that is not zero almost everywhere (second-order methods see curvature).</summary>
    Tanh,
    /// <summary>x·σ(x) (SiLU / swish).</summary>
    Silu,
    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid,
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
public static class Activations
{
    /// <summary><paramref name="activation"/>(<paramref name="x"/>), elementwise.</summary>
    public static Tensor Apply(Activation activation, Tensor x) => activation switch
    {
        Activation.Relu => nn.functional.relu(x),
        Activation.Tanh => x.tanh(),
        Activation.Silu => nn.functional.silu(x),
        Activation.Sigmoid => x.sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
    };
}
