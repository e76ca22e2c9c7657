using TorchSharp;
using static TorchSharp.torch;

namespace Meta.Training;

/// <summary>
/// Adam (Kingma &amp; Ba 2015) over one flat parameter vector, with PyTorch's update rule and defaults
/// (β1 = 0.9, β2 = 0.999, ε = 1e-8, bias correction): six in-place operations per step, whatever the network size.
/// The parameters are updated in place; their moments live beside them and are part of a checkpoint.
/// </summary>
public sealed class Adam : IMetaOptimizer
{
    private readonly Tensor _parameters;
    private Tensor? _scale;                       // per-entry step multipliers, null while all are 1
    private readonly Tensor _m;
    private readonly Tensor _v;

    /// <summary>Creates the optimiser for <paramref name="parameters"/> (a flat tensor it will update in place).</summary>
    public Adam(Tensor parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(learningRate > 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "must be > 0");
        _parameters = parameters;
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        _m = zeros_like(parameters).DetachFromDisposeScope();
        _v = zeros_like(parameters).DetachFromDisposeScope();
    }

    /// <summary>The step size; may be changed between steps (schedules).</summary>
    public double LearningRate { get; set; }

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; }

    /// <summary>Denominator guard.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <summary>Applies one update with <paramref name="gradient"/> (same shape as the parameters).</summary>
    public void Step(Tensor gradient)
    {
        if (!gradient.SameDims(_parameters))
            throw new ArgumentException($"gradient shape [{string.Join(", ", gradient.Dims())}] differs from the parameters' [{string.Join(", ", _parameters.Dims())}]");
        Steps++;
        var correction1 = 1 - Math.Pow(Beta1, Steps);
        var correction2 = 1 - Math.Pow(Beta2, Steps);
        // The managed pass first: it needs neither a dispose scope nor no-grad mode (≈ 0.2 µs of a ~2 µs step).
        if (InPlaceUpdate.TryAdam(_parameters, gradient, _m, _v, _scale, Beta1, Beta2, Epsilon, LearningRate / correction1, Math.Sqrt(correction2))) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _m.mul_(Beta1).add_(gradient, alpha: 1 - Beta1);
        _v.mul_(Beta2).addcmul_(gradient, gradient, value: 1 - Beta2);
        var denominator = _v.sqrt().div_(Math.Sqrt(correction2)).add_(Epsilon);
        if (_scale is null) _parameters.addcdiv_(_m, denominator, value: -LearningRate / correction1);
        else _parameters.addcdiv_(_m * _scale, denominator, value: -LearningRate / correction1);
    }

    /// <inheritdoc />
    public void ScaleLearningRate(long offset, long count, double factor) => StepScale.Apply(ref _scale, _parameters, offset, count, factor);

    /// <inheritdoc />
    public void Save(string prefix, Meta.Checkpoints.CheckpointWriter writer)
    {
        writer.Tensor(prefix + "m", _m);
        writer.Tensor(prefix + "v", _v);
        writer.Int64(prefix + "steps", Steps);
        writer.Double(prefix + "lr", LearningRate);
    }

    /// <inheritdoc />
    public void Load(string prefix, Meta.Checkpoints.CheckpointReader reader)
    {
        reader.CopyInto(prefix + "m", _m);
        reader.CopyInto(prefix + "v", _v);
        Steps = reader.Int64(prefix + "steps");
        LearningRate = reader.Double(prefix + "lr");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _m.Dispose();
        _v.Dispose();
        _scale?.Dispose();
    }
}
