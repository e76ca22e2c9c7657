using Meta.Algorithms;
using Meta.Functional;
using Meta.Tasks;
using Meta.Training;
using static TorchSharp.torch;

namespace Meta.Evaluation;

/// <summary>
/// The "pre-trained" baseline of Finn et al. (2017): one network trained by Adam to fit all tasks jointly, i.e. to
/// minimise the mean loss over random tasks without any adaptation. For sinusoids it learns roughly the mean function.
/// </summary>
public static class JointPretraining
{
    /// <summary>
    /// Trains from <paramref name="initial"/> (not modified) and returns the pre-trained weights [P]. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancel"/> fires: a cut-short baseline is no baseline.
    /// </summary>
    public static Tensor Train(IFunctionalNetwork network, SinusoidFamily family, Tensor initial, int iterations,
        int tasksPerBatch, int points, double learningRate, Generator generator, CancellationToken cancel = default,
        Meta.Hosting.PhaseProgress? progress = null)
    {
        var theta = initial.detach().clone().DetachFromDisposeScope();
        try
        {
            Fit(network, family, theta, iterations, tasksPerBatch, points, learningRate, generator, cancel, progress);
        }
        catch
        {
            theta.Dispose();
            throw;
        }
        return theta;
    }

    private static void Fit(IFunctionalNetwork network, SinusoidFamily family, Tensor theta, int iterations,
        int tasksPerBatch, int points, double learningRate, Generator generator, CancellationToken cancel,
        Meta.Hosting.PhaseProgress? progress)
    {
        using var adam = new Adam(theta, learningRate);
        for (var i = 0; i < iterations; i++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var tasks = family.Sample(tasksPerBatch, generator);
            var x = family.Inputs(tasksPerBatch, points, generator);
            using var leaf = theta.detach().requires_grad_(true);
            var weights = leaf.unsqueeze(0).expand(tasksPerBatch, leaf.Dims()[0]);
            var loss = TaskLoss.MeanSquaredErrorLoss.PerTask(network.Forward(weights, x), family.Target(tasks, x)).mean();
            adam.Step(TorchSharp.torch.autograd.grad([loss], [leaf])[0]);
            progress?.Advance();
        }
    }
}
