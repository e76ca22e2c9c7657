using Meta.Hosting;

namespace Meta.Functional;

/// <summary>
/// A fully connected network over flat features (ReLU unless <see cref="Activation"/> says otherwise): inputs → <see cref="Hidden"/> widths → outputs, with per-step
/// batch norm (<see cref="BatchNormMlp"/>) when the algorithm asks for it (MAML++). <c>--hidden 64,64,64</c> changes its shape.
/// </summary>
[System.ComponentModel.DisplayName("MLP")]
public sealed class MlpNetwork : INetworkDefinition
{
    /// <summary>Widths of the hidden layers (default 40, 40: the MAML paper's sinusoid network).</summary>
    [Option("Hidden layer widths of the MLP, e.g. 40,40.", Minimum = 1)]
    public int[] Hidden { get; set; } = [40, 40];

    /// <summary>The nonlinearity between layers.</summary>
    [Option("Nonlinearity between the MLP's layers.")]
    public Activation Activation { get; set; } = Activation.Relu;

    /// <inheritdoc />
    public IFunctionalNetwork Create(NetworkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int[] widths = [context.Shape.InputFeatures, .. Hidden, context.Shape.Outputs];
        return context.StepSets > 0 ? new BatchNormMlp(context.StepSets, Activation, widths) : new Mlp(Activation, widths);
    }
}

/// <summary>
/// The conv-4 network of the few-shot literature (Vinyals et al. 2016; Finn et al. 2017): <see cref="Blocks"/> blocks of
/// 3 × 3 convolution with <see cref="Filters"/> filters, batch norm, ReLU and 2 × 2 max-pooling, then a linear head over
/// the classes. Needs square images of at least 2^blocks pixels.
/// </summary>
[System.ComponentModel.DisplayName("conv-4")]
public sealed class ConvNetwork : INetworkDefinition
{
    /// <summary>Filters per block (64 for Omniglot, 32 for Mini-ImageNet in the MAML paper).</summary>
    [Option("Filters per conv-4 block.", Minimum = 1)]
    public int Filters { get; set; } = 64;

    /// <summary>Convolutional blocks.</summary>
    [Option("Convolutional blocks of the conv net.", Minimum = 1)]
    public int Blocks { get; set; } = 4;

    /// <inheritdoc />
    public IFunctionalNetwork Create(NetworkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.Shape.Input;
        if (input.Count != 3)
            throw new OptionException($"the conv net needs image tasks (inputs [channels, height, width]), but the task family's inputs are [{string.Join(", ", input)}]; use the MLP");
        var (channels, height, width) = ((int)input[0], (int)input[1], (int)input[2]);
        if (height != width)
            throw new OptionException($"the conv net needs square images, got {height} × {width}");
        if (height >> Blocks < 1)
            throw new OptionException($"--blocks {Blocks}: {Blocks} 2 × 2 max-pools need images of at least {1 << Math.Min(Blocks, 30)} pixels, got {height}");
        return new ConvNet(context.Shape.Outputs, channels, height, width, Filters, Blocks, perStepBatchNorm: context.StepSets);
    }
}
