using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// Plain stochastic gradient descent over one flat parameter vector: p ← p − lr·g, one in-place operation. With
/// Reptile's pseudo-gradient θ − mean φ this is the outer update θ ← θ + ε·(mean φ − θ).
/// </summary>
public sealed class Sgd : IMetaOptimizer
{
    private readonly Tensor _parameters;
    private Tensor? _scale;                       // per-entry step multipliers, null while all are 1
    private double _learningRate;

    /// <summary>Creates the optimiser for <paramref name="parameters"/> (a flat tensor it will update in place).</summary>
    public Sgd(Tensor parameters, double learningRate)
    {
        _parameters = parameters;
        LearningRate = learningRate;
    }

    /// <summary>The step size; may be changed between steps (schedules). Zero is allowed (the end of a linear decay).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || !double.IsFinite(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "the learning rate must be finite and ≥ 0");
            _learningRate = value;
        }
    }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <inheritdoc />
    public void Step(Tensor gradient)
    {
        if (!gradient.Dims().SequenceEqual(_parameters.Dims()))
            throw new ArgumentException($"gradient shape [{string.Join(", ", gradient.Dims())}] differs from the parameters' [{string.Join(", ", _parameters.Dims())}]");
        using var noGrad = no_grad();
        Steps++;
        if (_scale is null) _parameters.add_(gradient, alpha: -LearningRate);
        else _parameters.addcmul_(gradient, _scale, value: -LearningRate);
    }

    /// <inheritdoc />
    public void ScaleLearningRate(long offset, long count, double factor) => StepScale.Apply(ref _scale, _parameters, offset, count, factor);

    /// <inheritdoc />
    public void Save(string prefix, Meta.Checkpoints.CheckpointWriter writer)
    {
        writer.Int64(prefix + "steps", Steps);
        writer.Double(prefix + "lr", LearningRate);
    }

    /// <inheritdoc />
    public void Load(string prefix, Meta.Checkpoints.CheckpointReader reader)
    {
        Steps = reader.Int64(prefix + "steps");
        LearningRate = reader.Double(prefix + "lr");
    }

    /// <inheritdoc />
    public void Dispose() => _scale?.Dispose();
}
